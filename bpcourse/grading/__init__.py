"""Grading submitted exercise notebooks (instructor tools; the maths never imports this).

``bpcourse grade SUBMISSION...`` runs :func:`bpcourse.grading.grader.grade`:
each submission runs in its own kernel, in a worker process
(``bpcourse.grading.worker``); the kernel calls the learner's functions on the
grader's inputs (``kernel_side``) and sends back the results as JSON + .npz
(``transport``); the grader compares them, in its own process, with the
package's reference answers using ``bpcourse.selfcheck.judge``.
"""
import sys

# nbformat imports jsonschema, which builds a grammar for IRI checks when the optional
# rfc3987_syntax is installed: about a second at the start of the grader and of every
# worker, for a check grading never makes. Set here, before grader or worker import nbformat.
sys.modules.setdefault("rfc3987_syntax", None)

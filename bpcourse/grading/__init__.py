"""Grading submitted exercise notebooks (instructor tools; the maths never imports this).

``bpcourse grade SUBMISSION...`` runs :func:`bpcourse.grading.grader.grade`:
each submission runs in its own kernel, in a worker process
(``bpcourse.grading.worker``); the kernel calls the learner's functions on the
grader's inputs (``kernel_side``) and sends back the results as JSON + .npz
(``transport``); the grader compares them, in its own process, with the
package's reference answers using ``bpcourse.selfcheck.judge``.
"""

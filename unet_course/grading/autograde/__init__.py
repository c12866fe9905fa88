"""``unet-course autograde``: nbgrader's autograding, sandboxed, bounded and parallel.

=====================  ==========================================================
module                 what it does
=====================  ==========================================================
:mod:`.sandbox`        the bubblewrap command line; the kernel behind it on IPC sockets
:mod:`.limits`         time, memory, output and file limits; their feedback lines
:mod:`.integrity`      the audit hook and signed probes that detect tampering
:mod:`.execute`        one notebook through its kernel, probing around test cells
:mod:`.verdict`        test cells graded here, on the data the kernel answers
:mod:`.sanitize`       the package the kernel sees: no references, no checks
:mod:`.worker`         one submission: checked, restored from the gradebook, run, scored
:mod:`.gradebook`      the gradebook side: the master cells, what is graded, the one writer
:mod:`.scheduler`      Dask: a local cluster (``--workers N``) or a scheduler's address
:mod:`.command`        the command line and the run over the class
=====================  ==========================================================

Workers never touch the gradebook or the course directory: a job carries the
submission's bytes and the assignment's cells from the gradebook; its result
carries the graded notebook back to the one process that writes.
"""

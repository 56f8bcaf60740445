"""The ground floor both ``api/`` and ``workers/`` stand on: the service's settings, the data
model and database, the broker and queueing, and the rules (access, deadlines, points) and the
one module that moves a submission through its states.  It imports the engine (``grader``),
never ``api`` or ``workers``."""

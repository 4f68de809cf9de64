"""Background jobs: work too long for a request (a large export), run elsewhere, followed from any web worker.

A plugin starts a job with :func:`start_job`, naming a module-level work
function that receives a :class:`RunningJob`. The job's state (queued,
running, done, failed; how far it got; its result file) lives in its
:class:`~survey_app.models.Job` row, so any web worker can show it, and the
job runs on an RQ worker (``survey-app worker``) when ``REDIS_URL`` is set,
else in a daemon thread of the web process that started it. See the
"Background jobs" section of docs/plugins.md.

* :mod:`.lifecycle`: starting, finding, giving up on jobs that stopped, forgetting old ones;
* :mod:`.running`: running one job and reporting its progress;
* :mod:`.runners`: the thread and the RQ queue;
* :mod:`.files`: where result files live;
* :mod:`.command` and :mod:`.worker`: the ``survey-app worker`` command.
"""
from survey_app.jobs.files import result_file
from survey_app.jobs.lifecycle import find_job, start_job
from survey_app.jobs.running import JobFailed, RunningJob

__all__ = ["JobFailed", "RunningJob", "find_job", "result_file", "start_job"]

"""Moves this process's wall clock ahead, like the test run that started it (`pytest --clock-ahead=DAYS`).

The test session puts this folder on PYTHONPATH of every process it starts and sets
PROCUREBOT_TEST_CLOCK_AHEAD_DAYS, so a served app, a worker or a dispatcher sees the same moved wall clock
as the tests that talk to it. time-machine travels with tick=True: time still flows, from the moved instant;
time.monotonic and time.sleep are untouched.
"""

import os

TRAVELLED = False
_days = os.environ.get("PROCUREBOT_TEST_CLOCK_AHEAD_DAYS")
if _days:
    from datetime import datetime, timedelta, timezone

    import time_machine

    time_machine.travel(datetime.now(timezone.utc) + timedelta(days=float(_days)), tick=True).start()
    TRAVELLED = True  # the test session's conftest reads this, so a pytest worker does not travel twice

# workloads/switch/gevent.py: the switch workload of the gevent peer (loaded
# by workloads/peers/gevent_cell.py; not a script, and never on sys.path:
# this file's name would hide the gevent package). Two greenlets ping-pong
# --n round trips with greenlet.switch, no hub, like switch/green.c;
# ns_per_op is one one-way switch, Python's loop around it included.
from greenlet import getcurrent, greenlet

DEFAULT_N = 1000000
WARMUP_ROUND_TRIPS = 10000


def run_switch(p, r):
    if p.n is None:
        p.n = DEFAULT_N
    n = p.n
    if n == 0:
        r.fail("--n=0: the switch workload needs at least one round trip")
    r.switch_used = "greenlet"
    main = getcurrent()

    # Checked pass: the partner answers v with v + 1, proving values flow both ways.
    def echo(v):
        while True:
            v = main.switch(v + 1)

    partner = greenlet(echo)
    partner.switch(0)                    # Partner starts, answers 1.
    warm = min(n, WARMUP_ROUND_TRIPS)
    checked = 0
    for i in range(1, warm + 1):
        checked += partner.switch(i) == i + 1

    # Timed pass: nothing but the switch and the interpreter's loop around it.
    def bare():
        back = main.switch
        while True:
            back()

    partner = greenlet(bare)
    partner.switch()
    go = partner.switch
    r.measure_begin()
    for _ in range(n):
        go()
    r.measure_end()

    r.ops = 2 * n
    r.tasks_completed = n
    r.errors = warm - checked
    r.add_note("greenlet.switch between two raw greenlets (no hub); each one-way switch includes a turn "
               "of a Python loop and a method call.")
    if checked != warm:
        r.fail("%d of %d checked round trips returned a wrong value" % (warm - checked, warm))

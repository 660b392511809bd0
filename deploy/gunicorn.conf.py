"""gunicorn's settings for wzcheckin: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app`` (README,
"Deployment"); options on the command line (``--workers``, ``--bind``) override these. The test
suite's gunicorn servers start with this file too, so what is tested is what is deployed."""

import gc

from wzcheckin.app import forget_inherited_connections

# The app is built once, in the master, and the workers are forked from it: a worker starts in
# milliseconds instead of importing and building the app again (about 1.5 s of CPU each), and the
# code and templates are shared between workers, copy-on-write. The price: a code change needs a
# restart, not a HUP — which is how a release is rolled out anyway (README, "Deployment").
preload_app = True


def post_fork(server, worker):
    # No database connection may cross the fork (create_app opens none; this keeps it so).
    forget_inherited_connections(server.app.wsgi())


def pre_fork(server, worker):
    # Everything the master built lives as long as the workers: keep it out of the garbage
    # collector's passes, which would otherwise touch (and so copy) every inherited page in each
    # worker (Python's docs for gc.freeze: "fork() without … copy-on-write").
    gc.freeze()

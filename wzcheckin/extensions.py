"""Flask extensions, created unbound here and bound to the app in ``create_app``."""

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from wzcheckin.db import Base

# Objects stay loaded after a commit: a view renders its answer from what it just wrote without
# reloading every row (see db.unit_of_work for when state is re-read).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()
# The client address comes from the socket unless WZCHECKIN_TRUSTED_PROXIES says how many proxy
# hops to trust (ProxyFix in create_app), so a forged X-Forwarded-For cannot dodge a limit.
limiter = Limiter(key_func=get_remote_address)

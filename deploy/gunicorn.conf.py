"""The bridge's production gunicorn settings, for running gunicorn directly:

    gunicorn -c deploy/gunicorn.conf.py 'bridge.app:create_app()'

They come from the same environment variables as ``bridge web`` (see bridge/config.py and
bridge/web_server.py), validated the same way: an invalid setting stops the start with a
message naming it. ``bridge web --config deploy/gunicorn.conf.py`` reads this file too.
"""

from bridge.config import Settings
from bridge.web_server import gunicorn_options

_options = gunicorn_options(Settings.from_env())

bind = _options["bind"]
worker_class = _options["worker_class"]
workers = _options["workers"]
threads = _options["threads"]
timeout = _options["timeout"]
graceful_timeout = _options["graceful_timeout"]
keepalive = _options["keepalive"]
accesslog = _options["accesslog"]
errorlog = _options["errorlog"]
loglevel = _options["loglevel"]
worker_tmp_dir = _options["worker_tmp_dir"]
proc_name = _options["proc_name"]
control_socket_disable = _options.get("control_socket_disable", False)
if "control_socket" in _options:
    control_socket = _options["control_socket"]
    control_socket_mode = _options["control_socket_mode"]
if "logconfig_dict" in _options:
    logconfig_dict = _options["logconfig_dict"]

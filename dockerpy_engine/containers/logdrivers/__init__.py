"""Log drivers: where a container's output goes, and how `docker logs` reads it back.

One module per driver (jsonfile, local, none, syslog, gelf, fluentd, journald) behind one small
interface (`LogDriver`: write/end_stream/close; `reader()` on those that can be read back), and a
factory: `validate_log_config` at create, `open_log_driver` at start, `open_log_reader` for logs.

    _base      the interface, the copier (lines and 16 KiB partials), messages, LogInfo
    _options   option values as dockerd parses them; tag templates (_template) and attributes
    _files     rotating log files and their readers (json-file, local, the dual-logging cache)
    _net       non-blocking, bounded delivery to collectors (syslog, gelf, fluentd, journald)
    _factory   validation, daemon defaults, dual logging, opening drivers and readers
"""

from ._base import (
    MAX_PARTIAL,
    BaseDriver,
    LogDriver,
    LogEntry,
    LogInfo,
    LogReader,
    Message,
    format_time_fixed,
    parse_time_ns,
)
from ._factory import (
    DEFAULT_DRIVER,
    NOT_READABLE,
    CachedLog,
    check_log_config,
    driver_names,
    merge_log_config,
    open_log_driver,
    open_log_reader,
    validate_log_config,
)
from ._options import OptionError
from .jsonfile import JsonFileLog

__all__ = [
    "DEFAULT_DRIVER",
    "MAX_PARTIAL",
    "NOT_READABLE",
    "BaseDriver",
    "CachedLog",
    "JsonFileLog",
    "LogDriver",
    "LogEntry",
    "LogInfo",
    "LogReader",
    "Message",
    "OptionError",
    "check_log_config",
    "driver_names",
    "format_time_fixed",
    "merge_log_config",
    "open_log_driver",
    "open_log_reader",
    "parse_time_ns",
    "validate_log_config",
]

#!/usr/bin/python3
"""Dump what libauparse (python3-audit) reads from an audit log, as JSON, for the
differential test in auparse-differential.test.ts. Run with Debian's /usr/bin/python3,
whose site-packages hold the auparse module.

Output: one JSON object {"events": [...]}; each event has its time (ms), serial, node,
record types in order, and for each AVC/USER_AVC record the fields we compare.
"""
import json
import sys

import auparse

FIELDS = ("scontext", "tcontext", "tclass", "seresult", "seperms", "pid", "comm", "name", "path")
DECODED = ("comm", "name", "path")


def record_fields(parser):
    """The wanted fields of the current record only (find_field would run on into the
    event's later records); the first occurrence of a name wins, as in our parser."""
    found = {}
    if not parser.first_field():
        return {name: None for name in FIELDS}
    while True:
        name = parser.get_field_name()
        if name in FIELDS and name not in found:
            found[name] = parser.interpret_field() if name in DECODED else parser.get_field_str()
        if not parser.next_field():
            break
    return {name: found.get(name) for name in FIELDS}


def main(path):
    parser = auparse.AuParser(auparse.AUSOURCE_FILE, path)
    events = []
    while parser.parse_next_event():
        ts = parser.get_timestamp()
        event = {"time": ts.sec * 1000 + ts.milli, "serial": ts.serial, "node": ts.host, "types": [], "avcs": []}
        parser.first_record()
        while True:
            try:
                kind = parser.get_type_name()
            except LookupError:  # a number the binding has no name for
                kind = "UNKNOWN[%d]" % parser.get_type()
            event["types"].append(kind)
            if kind in ("AVC", "USER_AVC"):
                event["avcs"].append({"record": kind, **record_fields(parser)})
            if not parser.next_record():
                break
        events.append(event)
    json.dump({"events": events}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])

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


def field(parser, name):
    parser.first_field()
    if not parser.find_field(name):
        return None
    if name in DECODED:
        return parser.interpret_field()
    return parser.get_field_str()


def main(path):
    parser = auparse.AuParser(auparse.AUSOURCE_FILE, path)
    events = []
    while parser.parse_next_event():
        ts = parser.get_timestamp()
        event = {"time": ts.sec * 1000 + ts.milli, "serial": ts.serial, "node": ts.host, "types": [], "avcs": []}
        parser.first_record()
        while True:
            kind = parser.get_type_name()
            event["types"].append(kind)
            if kind in ("AVC", "USER_AVC"):
                event["avcs"].append({name: field(parser, name) for name in FIELDS})
            if not parser.next_record():
                break
        events.append(event)
    json.dump({"events": events}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])

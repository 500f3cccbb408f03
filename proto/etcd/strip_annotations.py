#!/usr/bin/env python3
"""Copies one of etcd's API .proto files with its Go-only annotations removed.

etcd's protos (from Debian's golang-etcd-server-dev, extracted by
tools/install-deps) import gogoproto and google.api, which protoc for C++
neither has nor needs: their imports, their file options and the
`option (google.api.http) = {...};` blocks inside rpcs are dropped. Nothing
else changes, so the wire format is etcd's own.

    strip_annotations.py IN OUT
"""
import re
import sys


def strip(text):
    text = re.sub(r'^import "(gogoproto/gogo|google/api/annotations)\.proto";\n', "", text,
                  flags=re.M)
    text = re.sub(r"^option \(gogoproto\.[a-z_]+\) = [a-z]+;\n", "", text, flags=re.M)
    # option (google.api.http) = { post: "..." additional_bindings {...} };
    # over several lines, with nested braces.
    while True:
        start = text.find("option (google.api.http) = {")
        if start < 0:
            break
        depth, i = 0, text.index("{", start)
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        if not text.startswith(";", i):
            raise SystemExit(f"strip_annotations: no ';' after {text[start:i]!r}")
        text = text[:start] + text[i + 1:]
    # Field options such as [(gogoproto.nullable) = false] (none in 3.4's API
    # protos, but cheap to be sure of).
    text = re.sub(r"\s*\[\(gogoproto\.[a-z_]+\) = [^\]]*\]", "", text)
    leftover = re.search(r"gogoproto|google\.api", text)
    if leftover:
        raise SystemExit(f"strip_annotations: an annotation this script does not know: "
                         f"{text[max(0, leftover.start() - 60):leftover.end() + 60]!r}")
    return text


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as f:
        text = strip(f.read())
    with open(sys.argv[2], "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Extracts the C++ snippets of Markdown files into translation units that CI compiles.

Every fenced block whose info string is cpp, c++, cxx, cc or hpp becomes one file
<out>/<doc>_<n>.cpp (README_03.cpp is README.md's third C++ block), compiled against corral
by tests/CMakeLists.txt (target corral-doc-snippets, test "doc snippets compile"). A doc
example that stops compiling therefore fails the build. Each file starts with #line
directives, so a compiler error names the Markdown file and line (README.md:31).

By default a block is a whole translation unit: it includes what it uses, and needs no main()
(the snippets are compiled, not linked or run, so a function it only declares, such as the
user's own backend call, is fine).

A fragment says how to compile it in an HTML comment just before its fence (blank lines may
separate them):

  <!-- snippet: wrap-main -->
      The block is the body of main(). Its #include lines are moved above main(), after a
      prelude of the standard headers fragments commonly use (<chrono>, <string>, <thread>,
      ...). The prelude holds no corral header: a fragment includes the corral headers it
      needs, exactly as a reader would have to.

  <!-- snippet: skip REASON -->
      The block is not compiled. Only for text that is not C++ (pseudo-code, an outline);
      REASON is required. A C++ example that does not compile is fixed in the doc, not skipped.

Any other `<!-- snippet: ... -->` comment, a comment not followed by a C++ block, or a block
that is never closed is an error (exit status 1, naming the file and line).
tests/extract_snippets_test.py checks these conventions.

Usage:
  extract_snippets.py --root DIR --out DIR [--list] FILE.md...
    --root  paths in #line directives and file names are relative to this directory
    --out   where the .cpp files go (created; stale snippet files in it are removed)
    --list  only print the paths of the files that would be written, one per line

Python 3 standard library only.
"""

import argparse
import os
import re
import sys

CPP_LANGUAGES = {"cpp", "c++", "cxx", "cc", "hpp"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
ANNOTATION = re.compile(r"^[ \t]*<!--[ \t]*snippet:[ \t]*(?P<body>.*?)[ \t]*-->[ \t]*$")
ANY_SNIPPET_COMMENT = re.compile(r"<!--[ \t]*snippet\b")
INCLUDE = re.compile(r"^[ \t]*#[ \t]*include\b")
GENERATED_NAME = re.compile(r"^[A-Za-z0-9_]+_[0-9]{2,}\.cpp$")

WRAP_MAIN_PRELUDE = [
    "<algorithm>",
    "<chrono>",
    "<cstdio>",
    "<functional>",
    "<future>",
    "<iostream>",
    "<map>",
    "<memory>",
    "<optional>",
    "<string>",
    "<thread>",
    "<unordered_map>",
    "<utility>",
    "<vector>",
]


class SnippetError(Exception):
    pass


class Snippet:
    def __init__(self, doc, line, mode, body):
        self.doc = doc  # path relative to --root, as #line and error messages show it
        self.line = line  # 1-based line of the first body line
        self.mode = mode  # "whole" or "wrap-main"
        self.body = body  # list of lines without their newline


def parse_annotation(text, where):
    if text == "wrap-main":
        return "wrap-main"
    if text == "skip" or text.startswith("skip ") or text.startswith("skip\t"):
        if not text[4:].strip():
            raise SnippetError(f"{where}: 'snippet: skip' needs a reason")
        return "skip"
    raise SnippetError(
        f"{where}: unknown snippet annotation '{text}' (expected 'wrap-main' or 'skip REASON')"
    )


def snippets_of(path, doc):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    found = []
    pending = None  # (mode, line) of an annotation waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"{doc}:{i + 1}"
        annotation = ANNOTATION.match(line)
        if annotation:
            if pending:
                raise SnippetError(f"{doc}:{pending[1]}: snippet annotation not followed by a C++ block")
            pending = (parse_annotation(annotation.group("body"), where), i + 1)
            i += 1
            continue
        if ANY_SNIPPET_COMMENT.search(line):
            raise SnippetError(f"{where}: malformed snippet annotation (expected <!-- snippet: ... -->)")
        fence = FENCE.match(line)
        if not fence:
            if pending and line.strip():
                raise SnippetError(f"{doc}:{pending[1]}: snippet annotation not followed by a C++ block")
            i += 1
            continue
        indent, marker = fence.group("indent"), fence.group("fence")
        language = fence.group("info").split()[0].lower() if fence.group("info") else ""
        start = i + 1
        end = start
        closing = re.compile(r"^[ \t]*" + re.escape(marker[0]) + "{" + str(len(marker)) + r",}[ \t]*$")
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end == len(lines):
            raise SnippetError(f"{where}: code block is never closed")
        body = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in lines[start:end]]
        if language in CPP_LANGUAGES:
            mode = pending[0] if pending else "whole"
            if not any(l.strip() for l in body):
                raise SnippetError(f"{where}: empty C++ block")
            if mode != "skip":
                found.append(Snippet(doc, start + 1, mode, body))
        elif pending:
            raise SnippetError(f"{doc}:{pending[1]}: snippet annotation not followed by a C++ block")
        pending = None
        i = end + 1
    if pending:
        raise SnippetError(f"{doc}:{pending[1]}: snippet annotation not followed by a C++ block")
    return found


def translation_unit(s):
    quoted = s.doc.replace("\\", "\\\\").replace('"', '\\"')
    out = [f"// Generated by scripts/extract_snippets.py from {s.doc}; edit the doc, not this file."]
    if s.mode == "whole":
        out.append(f'#line {s.line} "{quoted}"')
        out.extend(s.body)
        return "\n".join(out) + "\n"
    out.extend(f"#include {h}" for h in WRAP_MAIN_PRELUDE)
    for n, l in enumerate(s.body):
        if INCLUDE.match(l):
            out.append(f'#line {s.line + n} "{quoted}"')
            out.append(l)
    out.append("int main() {")
    out.append(f'#line {s.line} "{quoted}"')
    out.extend("" if INCLUDE.match(l) else l for l in s.body)
    out.append("}")
    return "\n".join(out) + "\n"


def file_stem(doc):
    stem = os.path.splitext(doc)[0]
    return re.sub(r"[^A-Za-z0-9]+", "_", stem).strip("_")


def main():
    parser = argparse.ArgumentParser(description="Extract C++ snippets from Markdown files.")
    parser.add_argument("--root", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("docs", nargs="+")
    args = parser.parse_args()

    units = {}  # output path -> text
    try:
        for path in args.docs:
            doc = os.path.relpath(os.path.abspath(path), os.path.abspath(args.root))
            for n, s in enumerate(snippets_of(path, doc), start=1):
                name = f"{file_stem(doc)}_{n:02d}.cpp"
                units[os.path.join(args.out, name)] = translation_unit(s)
    except (SnippetError, OSError, UnicodeDecodeError) as e:
        print(f"extract_snippets: {e}", file=sys.stderr)
        return 1

    if args.list:
        for p in units:
            print(p)
        return 0

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        p = os.path.join(args.out, name)
        if GENERATED_NAME.match(name) and p not in units:
            os.remove(p)  # a snippet that left the docs
    for p, text in units.items():
        # Always written, even when unchanged, so that the outputs are newer than the docs
        # and the build does not run this script again.
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The conventions of scripts/extract_snippets.py: which blocks become translation units,
what wrap-main and skip do, and which mistakes in a doc are errors."""

import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                      "extract_snippets.py")


class ExtractSnippets(unittest.TestCase):
    def run_script(self, markdown, *extra):
        """Writes `markdown` to guide.md in a temp dir, runs the script on it and returns
        (exit status, stderr, {generated file name: text})."""
        with tempfile.TemporaryDirectory() as root:
            doc = os.path.join(root, "guide.md")
            with open(doc, "w", encoding="utf-8") as f:
                f.write(markdown)
            out = os.path.join(root, "out")
            p = subprocess.run([sys.executable, SCRIPT, "--root", root, "--out", out, *extra, doc],
                               capture_output=True, text=True)
            files = {}
            if os.path.isdir(out):
                for name in sorted(os.listdir(out)):
                    with open(os.path.join(out, name), encoding="utf-8") as f:
                        files[name] = f.read()
            return p.returncode, p.stderr, p.stdout, files

    def test_a_whole_block_is_copied_after_a_line_directive(self):
        rc, err, _, files = self.run_script("# Guide\n\n```cpp\nint f() { return 1; }\n```\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(list(files), ["guide_01.cpp"])
        self.assertIn('#line 4 "guide.md"\nint f() { return 1; }\n', files["guide_01.cpp"])
        self.assertNotIn("int main", files["guide_01.cpp"])

    def test_only_cpp_blocks_count_and_they_are_numbered_in_order(self):
        md = "```sh\nls\n```\n```c++\nint a;\n```\n```\nplain\n```\n```cpp\nint b;\n```\n"
        rc, err, _, files = self.run_script(md)
        self.assertEqual(rc, 0, err)
        self.assertEqual(list(files), ["guide_01.cpp", "guide_02.cpp"])
        self.assertIn("int a;", files["guide_01.cpp"])
        self.assertIn("int b;", files["guide_02.cpp"])

    def test_wrap_main_hoists_includes_and_wraps_the_rest(self):
        md = ("<!-- snippet: wrap-main -->\n```cpp\n#include <corral/runtime/runtime.hpp>\n"
              "corral::runtime rt;\n```\n")
        rc, err, _, files = self.run_script(md)
        self.assertEqual(rc, 0, err)
        text = files["guide_01.cpp"]
        include = text.index("#include <corral/runtime/runtime.hpp>")
        main = text.index("int main() {")
        self.assertLess(include, main)
        self.assertIn("#include <string>", text[:main])  # the standard prelude
        self.assertNotIn("corral", text[:include])  # no corral header but the snippet's own
        body = text[main:]
        self.assertIn('#line 3 "guide.md"\n\ncorral::runtime rt;\n}', body)

    def test_skip_leaves_the_block_out_but_needs_a_reason(self):
        rc, err, _, files = self.run_script("<!-- snippet: skip outline -->\n```cpp\nget -> ?\n```\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(files, {})
        rc, err, _, _ = self.run_script("<!-- snippet: skip -->\n```cpp\nget -> ?\n```\n")
        self.assertEqual(rc, 1)
        self.assertIn("guide.md:1: 'snippet: skip' needs a reason", err)

    def test_mistakes_in_a_doc_are_errors_naming_the_line(self):
        cases = {
            "<!-- snippet: wrap-mian -->\n```cpp\nint a;\n```\n": "guide.md:1: unknown snippet",
            "<!-- snippet: wrap-main -->\ntext\n```cpp\nint a;\n```\n": "guide.md:1: snippet annotation not followed",
            "<!-- snippet: wrap-main -->\n```json\n{}\n```\n": "guide.md:1: snippet annotation not followed",
            "text\n```cpp\nint a;\n": "guide.md:2: code block is never closed",
            "<!--snippet wrap-main-->\n```cpp\nint a;\n```\n": "guide.md:1: malformed snippet",
        }
        for md, message in cases.items():
            rc, err, _, _ = self.run_script(md)
            self.assertEqual(rc, 1, md)
            self.assertIn(message, err, md)

    def test_list_prints_the_files_without_writing_them(self):
        rc, err, out, files = self.run_script("```cpp\nint a;\n```\n", "--list")
        self.assertEqual(rc, 0, err)
        self.assertEqual(files, {})
        self.assertTrue(out.strip().endswith(os.path.join("out", "guide_01.cpp")), out)


if __name__ == "__main__":
    unittest.main()

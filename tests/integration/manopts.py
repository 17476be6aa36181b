#!/usr/bin/env python3
"""manopts.py MANPAGE HELPTEXT - do panefs(1) and `panefs --help` list the
same options? Prints both sets' differences and exits 1 if there are any.

Options in the man page (conventions written at the top of fs/panefs.1):
the bold words of the .TP tags in OPTIONS and of the two list subsections
("Passed on ..." and "Accepted and ignored"); a bold word followed by
"(N)" is a page reference, not an option. In --help (the panefs part,
before libfuse's own help): the tags of the option lines ("    -o NAME=X",
"    -d, -o debug") and the words of the "Passed on ..." and "Accepted and
ignored ..." lists. Names are compared up to and including '=' (window=,
max_read=), x-* as "x-", comment=* as "comment=".
"""
import re
import shlex
import sys

NAME = re.compile(r"^(--?[A-Za-z-]+|[a-z_][a-z0-9_-]*=?)$")


def norm(word):
    """An option name from one bold/help word, or None."""
    w = word.replace("\\-", "-").replace("\\&", "").strip().rstrip(",.")
    w = re.sub(r"\\f[BIRP]", "", w)
    if w in ("", "-o", "--"):
        return None
    if w.startswith("-o "):
        w = w[3:]
    if "=" in w:
        w = w[: w.index("=") + 1]
    w = w.rstrip("*")
    return w if NAME.match(w) else None


def roff_bold(line):
    """The bold words of one roff line."""
    out = []
    if line.startswith("."):
        parts = line.split(None, 1)
        macro, rest = parts[0], parts[1] if len(parts) > 1 else ""
        try:
            args = shlex.split(rest.replace("\\", "\\\\"))
        except ValueError:
            args = rest.split()
        args = [a.replace("\\\\", "\\") for a in args]
        if macro == ".B":
            out += [" ".join(args)] if args else []
        elif macro in (".BR", ".BI"):
            for i in range(0, len(args), 2):
                nxt = args[i + 1] if i + 1 < len(args) else ""
                if macro == ".BR" and re.match(r"^\(\d", nxt):
                    continue  # a page reference: fuse (8)
                out.append(args[i])
        elif macro in (".RB", ".IB"):
            out += args[1::2]
    out += re.findall(r"\\fB(.*?)\\f[RIP]", line)
    words = []
    for b in out:
        words += [p for p in re.split(r",\s*", b) if p]
    return words


def man_options(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    opts, section, sub, after_tp = set(), "", "", False
    for line in lines:
        if line.startswith(".SH"):
            section, sub = line[3:].strip().strip('"'), ""
            continue
        if line.startswith(".SS"):
            sub = line[3:].strip()
            continue
        if section != "OPTIONS":
            continue
        if line.startswith(".TP"):
            after_tp = True
            continue
        lists = sub.startswith("Passed on") or sub.startswith("Accepted")
        if after_tp or lists:
            for w in roff_bold(line):
                n = norm(w)
                if n:
                    opts.add(n)
        after_tp = False
    return opts


def help_options(path):
    text = open(path, encoding="utf-8").read()
    text = text.split("libfuse command line options:")[0]
    opts, in_list = set(), False
    for line in text.splitlines():
        if line.startswith("Passed on") or line.startswith("Accepted and"):
            in_list = True
            continue
        if line.startswith("Any other option"):
            in_list = False
            continue
        if in_list:
            for w in re.sub(r"\([^)]*\)", " ", line).split():
                n = norm(w)
                if n:
                    opts.add(n)
            continue
        item = r"(?:-o [^\s,]+|--?[^\s,]+)"
        m = re.match(r"^    (%s(?:, %s)*)" % (item, item), line)
        if m:
            for w in m.group(1).split(", "):
                n = norm(w)
                if n:
                    opts.add(n)
    return opts


def main():
    man, hlp = man_options(sys.argv[1]), help_options(sys.argv[2])
    if len(man) < 20 or len(hlp) < 20:
        print("too few options found: man %d, --help %d" % (len(man), len(hlp)))
        return 1
    only_man, only_help = sorted(man - hlp), sorted(hlp - man)
    if only_man:
        print("in panefs(1) but not in --help: " + " ".join(only_man))
    if only_help:
        print("in --help but not in panefs(1): " + " ".join(only_help))
    if only_man or only_help:
        return 1
    print("%d options, the same in panefs(1) and --help" % len(man))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The conformance machinery itself (no kernel): cells, limitations.txt."""

import os

import pytest

import goconf as cf

PROGRAM = """package main

import "fmt"

type T struct{ A int }

func main() {
	x := T{1}
loop:
	if x.A < 3 {
		x.A++
		goto loop
	}
	fmt.Println(x)
}

func after() {}
"""


def test_split():
    got = cf.split(PROGRAM)
    want_decls = PROGRAM.replace("package main\n\n", "")
    assert got["decls"] == [want_decls, "main()"]
    c1, c2 = got["toplevel"]
    assert c1 == 'import "fmt"\n\ntype T struct{ A int }\n\n\nfunc after() {}\n'
    assert c2 == "x := T{1}\nloop:\nif x.A < 3 {\n\tx.A++\n\tgoto loop\n}\nfmt.Println(x)\n"


@pytest.mark.parametrize("name", cf.programs())
def test_program_splits(name):
    """Every program has the shape the splitting needs."""
    cells = cf.split(cf.source(name))
    assert "package main" not in cells["toplevel"][0]
    assert "func main()" not in cells["toplevel"][0]
    assert cells["toplevel"][1].strip(), "empty main"


def test_enough_programs():
    assert len(cf.programs()) >= 90


@pytest.mark.parametrize(
    "err, want",
    [
        ("CompileError: undefined type for U\ncell line 6, column 13: ...", "undefined type for U"),
        ("panic: 10038:2: invalid interface value {{0x18ef61fc4b40 {0x18ef 409}} x}", "invalid interface value"),
        (
            "CompileError: yaegi internal error: 10009:50: CFG post-order panic: reflect: call of reflect.Value.Complex on struct Value",
            "CFG post-order panic: reflect: call of reflect.Value.Complex",
        ),
        ("CompileError: yaegi internal error: nil type", "yaegi internal error: nil type"),
        ("RuntimeError: reflect: Call using *struct { Xdata []uint8 } as type io.Writer", "reflect: Call using *struct"),
    ],
)
def test_short_substring(err, want):
    got = cf.short_substring(err)
    assert got == want
    assert got in err


def test_limitations_round_trip(tmp_path):
    path = str(tmp_path / "limitations.txt")
    with open(path, "w") as f:
        f.write("# comment\n\n001_a decls  old text  # a README line\n002_b toplevel  gone  # x\n003_c decls  kept  # y\n")
    lims = cf.read_limitations(path)
    assert lims[("001_a", "decls")].substring == "old text"
    assert lims[("001_a", "decls")].comment == "a README line"

    def out(name, mode, kind, error=""):
        return cf.Outcome(name, mode, kind=kind, error=error)

    observed = {
        ("001_a", "decls"): out("001_a", "decls", "error", "CompileError: some old text here"),
        ("002_b", "toplevel"): out("002_b", "toplevel", "pass"),
        ("004_d", "decls"): out("004_d", "decls", "wrong"),
        ("005_e", "toplevel"): out("005_e", "toplevel", "error", "CompileError: range over a function iterator (Go 1.23) is not"),
    }
    cf.write_limitations(observed, path, ran=observed)
    got = cf.read_limitations(path)
    assert sorted(got) == [("001_a", "decls"), ("003_c", "decls"), ("005_e", "toplevel")]
    assert got[("001_a", "decls")].substring == "old text"  # still matches: kept
    assert got[("003_c", "decls")].substring == "kept"  # did not run: kept
    assert got[("005_e", "toplevel")].comment.startswith("Range over function iterators")


def test_limitations_bad_line(tmp_path):
    path = str(tmp_path / "limitations.txt")
    with open(path, "w") as f:
        f.write("001_a sideways  text\n")
    with pytest.raises(ValueError):
        cf.read_limitations(path)


def test_checked_in_limitations_parse():
    lims = cf.read_limitations()
    names = set(cf.programs())
    for (name, mode), lim in lims.items():
        assert name in names, f"limitations.txt: no program {name}"
        assert mode in cf.MODES
        assert lim.substring
    assert os.path.exists(cf.LIMITATIONS)


def test_limitations_are_in_the_readme():
    """Each listed failure names a README "Known limitations" entry."""
    readme = open(os.path.join(cf.HERE, "..", "..", "README.md")).read()
    section = readme[readme.index("## Known limitations"):]
    section = " ".join(section[: section.index("\n## ", 4)].split())
    for entry in cf.read_limitations(cf.LIMITATIONS).values():
        line = " ".join(entry.comment.split())
        assert line in section, f"{entry}: {line!r} is not in README Known limitations"

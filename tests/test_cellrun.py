"""The cell runner: the same file runs cells at build time and in the browser."""

from sitebuild import cellrun


def run(*sources):
    namespace = cellrun.new_namespace()
    return [cellrun.run_cell(src, namespace, index=i) for i, src in enumerate(sources)]


def test_prints_and_last_expression_like_a_notebook():
    [items] = run("print('a'); print('b')\n1 + 1")
    assert items == [{"type": "stdout", "text": "a\nb\n"}, {"type": "result", "text": "2"}]


def test_none_result_and_assignment_show_nothing():
    assert run("x = 3", "None") == [[], []]


def test_cells_share_a_namespace_in_order():
    assert run("x = 20", "x + 22")[1] == [{"type": "result", "text": "42"}]


def test_stdout_and_stderr_keep_their_order():
    [items] = run("import sys\nprint('out')\nsys.stderr.write('err\\n')\nprint('out2')")
    assert [i["type"] for i in items] == ["stdout", "stderr", "stdout"]


def test_error_shows_only_the_cells_own_frames():
    [items] = run("def f():\n    return 1 / 0\nprint('before')\nf()")
    assert items[0] == {"type": "stdout", "text": "before\n"}
    error = items[1]["text"]
    assert error.startswith("Traceback") and "ZeroDivisionError" in error
    assert "<cell 0>" in error and "cellrun" not in error


def test_syntax_error_and_system_exit_do_not_escape():
    [syntax] = run("def (")
    assert syntax[0]["type"] == "error" and "SyntaxError" in syntax[0]["text"]
    [exit_] = run("raise SystemExit(3)")
    assert exit_[0]["type"] == "error"


def test_rich_display_html_and_svg():
    class Html:
        def _repr_html_(self):
            return "<b>hi</b>"

    class Svg:
        def _repr_svg_(self):
            return "<svg></svg>"

    namespace = cellrun.new_namespace()
    namespace.update(Html=Html, Svg=Svg)
    assert cellrun.run_cell("Html()", namespace) == [{"type": "html", "html": "<b>hi</b>"}]
    assert cellrun.run_cell("Svg()", namespace) == [{"type": "html", "html": "<svg></svg>"}]


def test_streaming_callback_sees_text_as_it_is_written():
    seen = []
    cellrun.run_cell("print('x')", cellrun.new_namespace(), on_write=lambda k, t: seen.append((k, t)))
    assert ("stdout", "x") in seen


def test_run_page_evaluates_prose_expressions_after_the_cells():
    result = cellrun.run_page(["a = 2", "b = a * 3"], ["b", "a + b", "missing"])
    assert result["values"][:2] == [{"ok": True, "text": "6"}, {"ok": True, "text": "8"}]
    assert result["values"][2]["ok"] is False


def test_artifact_reads_the_build_folder(tmp_path, monkeypatch):
    (tmp_path / "report.json").write_text('{"loss": 1.5}')
    monkeypatch.setenv("GUIDE_ARTIFACTS", str(tmp_path))
    [items] = run("import json\nfrom guide import artifact\njson.loads(artifact('report.json'))['loss']")
    assert items == [{"type": "result", "text": "1.5"}]

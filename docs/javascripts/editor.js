// The code editor (CodeMirror 6), loaded only when a reader first edits a cell.
// Its modules are plain ES modules from npm, found through the page's import
// map; colours come from Material's own code-highlighting variables, so the
// editor looks like the static code it replaces, in light and dark mode.

let modules = null;

async function loadModules() {
  modules ??= Promise.all([
    import("@codemirror/view"),
    import("@codemirror/state"),
    import("@codemirror/language"),
    import("@codemirror/commands"),
    import("@codemirror/lang-python"),
    import("@lezer/highlight"),
  ]);
  return modules;
}

function materialHighlightStyle(HighlightStyle, tags) {
  const v = (name) => `var(--md-code-hl-${name}-color)`;
  return HighlightStyle.define([
    { tag: [tags.keyword, tags.controlKeyword, tags.definitionKeyword, tags.operatorKeyword], color: v("keyword") },
    { tag: [tags.string, tags.special(tags.string)], color: v("string") },
    { tag: [tags.number, tags.bool, tags.null], color: v("number") },
    { tag: tags.comment, color: v("comment"), fontStyle: "italic" },
    { tag: [tags.function(tags.variableName), tags.function(tags.definition(tags.variableName))], color: v("function") },
    { tag: [tags.className, tags.definition(tags.className)], color: v("name") },
    { tag: [tags.operator, tags.punctuation], color: v("punctuation") },
    { tag: tags.standard(tags.variableName), color: v("constant") },
  ]);
}

// Create an editor in `parent` holding `doc`. Shift+Enter / Ctrl+Enter run the cell.
export async function createEditor(parent, doc, { onRun, label }) {
  const [view, state, language, commands, lang, highlight] = await loadModules();
  const { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } = view;
  const runKeys = [
    { key: "Shift-Enter", run: () => { onRun(); return true; } },
    { key: "Mod-Enter", run: () => { onRun(); return true; } },
  ];
  const theme = EditorView.theme({
    "&": { backgroundColor: "var(--md-code-bg-color)", color: "var(--md-code-fg-color)", fontSize: ".85em" },
    ".cm-content": { fontFamily: "var(--md-code-font-family)", caretColor: "var(--md-code-fg-color)" },
    ".cm-gutters": { backgroundColor: "var(--md-code-bg-color)", color: "var(--md-default-fg-color--lighter)", border: "none" },
    "&.cm-focused": { outline: "2px solid var(--md-accent-fg-color)" },
  });
  return new EditorView({
    parent,
    state: state.EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        highlightActiveLine(),
        drawSelection(),
        commands.history(),
        language.indentOnInput(),
        language.bracketMatching(),
        keymap.of([...runKeys, ...commands.defaultKeymap, ...commands.historyKeymap, commands.indentWithTab]),
        lang.python(),
        language.syntaxHighlighting(materialHighlightStyle(language.HighlightStyle, highlight.tags)),
        theme,
        EditorView.contentAttributes.of({ "aria-label": label }),
        // Wrap long lines: no sideways scroll region that keyboard users cannot reach.
        EditorView.lineWrapping,
      ],
    }),
  });
}

// Replace the editor's whole text (Reset).
export function setText(editor, text) {
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
}

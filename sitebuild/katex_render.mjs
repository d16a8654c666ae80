// Render TeX to HTML at build time, so pages ship no math JavaScript.
// stdin: JSON [{tex, display}], stdout: JSON [html] (or exit 1 with the bad formula).
import katex from "katex";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const formulas = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const rendered = [];
for (const { tex, display } of formulas) {
  try {
    rendered.push(katex.renderToString(tex, { displayMode: display, throwOnError: true, output: "htmlAndMathml" }));
  } catch (err) {
    process.stderr.write(`KaTeX cannot render ${JSON.stringify(tex)}: ${err.message}\n`);
    process.exit(1);
  }
}
process.stdout.write(JSON.stringify(rendered));

// ESLint (flat config) for the site's own JavaScript: the page modules under
// docs/javascripts (browser; py-worker.js runs in a Web Worker), the Node
// bridges under tests/js and the build's KaTeX renderer (sitebuild/*.mjs). tests/test_lint.py runs it. Beyond the recommended
// rules (undefined names, unreachable code, duplicate class members, ...),
// unused imports, variables and private members are errors: dead code hides
// what a module really does.

import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["docs/vendor/**", "node_modules/**", "site/**"] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: "module" },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none", ignoreRestSiblings: true }],
      "no-unused-private-class-members": "error",
      "no-unused-expressions": "error",
      "no-useless-assignment": "error",
      "no-unreachable-loop": "error",
      "no-constant-binary-expression": "error",
      "no-self-compare": "error",
      "no-shadow-restricted-names": "error",
    },
  },
  { files: ["docs/javascripts/**/*.js"], languageOptions: { globals: globals.browser } },
  { files: ["docs/javascripts/py-worker.js"], languageOptions: { globals: globals.worker } },
  { files: ["tests/js/**/*.mjs", "sitebuild/**/*.mjs", "eslint.config.js"], languageOptions: { globals: globals.node } },
];

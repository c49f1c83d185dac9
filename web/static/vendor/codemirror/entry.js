// What the journey editor needs from CodeMirror 6, exposed as window.NurtureCM.
export { EditorView, basicSetup } from "codemirror";
export { EditorState } from "@codemirror/state";
export { yaml } from "@codemirror/lang-yaml";
export { linter, lintGutter, setDiagnostics } from "@codemirror/lint";

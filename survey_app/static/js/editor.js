/* The questionnaire editor: CodeMirror on top of the plain <textarea id="definition">
   (which works on its own without JavaScript), problem lines marked, and each link in
   the problems list jumping to its line. The server computes every line number. */
(function () {
  "use strict";
  var textarea = document.getElementById("definition");
  if (!textarea) return;
  var problemLines = (textarea.getAttribute("data-problem-lines") || "").split(",")
    .map(function (text) { return parseInt(text, 10); })
    .filter(function (line) { return line > 0; });
  var editor = null;

  if (window.CodeMirror) {
    var label = document.querySelector('label[for="definition"]');
    editor = window.CodeMirror.fromTextArea(textarea, {
      mode: {name: "javascript", json: true},
      lineNumbers: true,
      lineWrapping: true,
      matchBrackets: true,
      indentUnit: 2,
      tabSize: 2,
      inputStyle: "contenteditable",  /* read by screen readers */
      screenReaderLabel: label ? label.textContent : "JSON",
      /* Tab leaves the editor, as in any form (no keyboard trap); Ctrl-] and Ctrl-[ indent. */
      extraKeys: {"Tab": false, "Shift-Tab": false}
    });
    editor.getWrapperElement().classList.add("code-editor");
    problemLines.forEach(function (line) {
      if (line <= editor.lineCount()) editor.addLineClass(line - 1, "background", "problem-line");
    });
  }

  function offsetOfLine(text, line) {
    var offset = 0;
    for (var current = 1; current < line; current++) {
      var next = text.indexOf("\n", offset);
      if (next < 0) return text.length;
      offset = next + 1;
    }
    return offset;
  }

  function goTo(line) {
    if (editor) {
      var target = {line: Math.min(line, editor.lineCount()) - 1, ch: 0};
      editor.focus();
      editor.setCursor(target);
      editor.scrollIntoView(target, 120);
      editor.addLineClass(target.line, "wrap", "jumped-line");
      window.setTimeout(function () { editor.removeLineClass(target.line, "wrap", "jumped-line"); }, 1500);
      return;
    }
    var text = textarea.value;
    var start = offsetOfLine(text, line);
    var end = text.indexOf("\n", start);
    textarea.focus();
    textarea.setSelectionRange(start, end < 0 ? text.length : end);
    var lineHeight = parseFloat(window.getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-line]") : null;
    if (!link) return;
    var line = parseInt(link.getAttribute("data-line"), 10);
    if (!(line > 0)) return;
    event.preventDefault();
    goTo(line);
  });

  window.SurveyEditor = {goTo: goTo, editor: editor};
})();

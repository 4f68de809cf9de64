/* Questionnaire pages: focus the error summary, and live show/hide. The server sends
   the parsed rules as JSON (#survey-logic), in page order; logic.js interprets them
   exactly as the server does. Without JavaScript every question is shown and the
   server applies the same rules. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  var payload = document.getElementById("survey-logic");
  var form = document.querySelector("form.survey-page");
  if (!payload || !form || !window.SurveyLogic) return;
  var logic = JSON.parse(payload.textContent);

  function number(text) {
    var cleaned = String(text).replace(/[\s\u00a0]/g, "").replace(",", ".");
    if (cleaned === "" || isNaN(Number(cleaned))) return null;
    return Number(cleaned);
  }

  function valueOf(id, type) {
    var fields = form.elements;
    if (type === "multiple_choice") {
      var chosen = Array.prototype.filter.call(form.querySelectorAll('input[name="' + id + '"]'), function (box) { return box.checked; })
        .map(function (box) { return box.value; });
      return chosen.length ? chosen : null;
    }
    var field = fields.namedItem(id);
    if (!field) return null;
    if (field instanceof RadioNodeList || (field.type === "radio")) {
      var picked = form.querySelector('input[name="' + id + '"]:checked');
      if (!picked) return null;
      return (type === "rating") ? number(picked.value) : picked.value;
    }
    var text = (field.value || "").trim();
    if (text === "") return null;
    if (type === "integer" || type === "decimal" || type === "rating") return number(text);
    return text;
  }

  function matrixValues(id, values) {
    Array.prototype.forEach.call(form.querySelectorAll('input[type=radio][name^="' + id + '."]:checked'), function (radio) {
      values[radio.name] = radio.value;
    });
  }

  function currentValues() {
    var values = Object.assign({}, logic.values);
    Object.keys(logic.types).forEach(function (id) {
      var type = logic.types[id];
      if (type === "matrix") { matrixValues(id, values); return; }
      if (type === "repeat" || type === "ranking") return;
      var value = valueOf(id, type);
      if (value !== null) values[id] = value;
    });
    return values;
  }

  function forget(id, values) {
    /* later rules see a hidden question as unanswered, matrix rows included */
    delete values[id];
    Object.keys(values).forEach(function (name) {
      if (name.indexOf(id + ".") === 0) delete values[name];
    });
  }

  function update() {
    var values = currentValues();
    logic.rules.forEach(function (rule) {
      var id = rule[0];
      var shown = window.SurveyLogic.truthy(window.SurveyLogic.evaluate(rule[1], values));
      var block = document.getElementById("question-" + id);
      if (block) block.hidden = !shown;
      if (!shown) forget(id, values);
    });
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();

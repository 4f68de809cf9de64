/* A page following a background job (a large export, the first count of a survey's
   results): polls the JSON at its container's data-status-url ({done, total, text,
   finished}), moves the container's <progress> bar and role="status" text, and reloads
   the page once the job has finished (the server then shows what came of it).
   Without JavaScript a <noscript> meta refresh reloads the page instead. */
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  var bar = box && box.querySelector("progress");
  var text = box && box.querySelector("[role=status]");
  if (!box || !bar || !text) return;

  function poll() {
    fetch(box.getAttribute("data-status-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (state) {
        if (state.finished) {
          window.location.reload();
          return;
        }
        if (state.total > 0) {
          bar.max = state.total;
          bar.value = state.done;
        }
        if (text.textContent !== state.text) text.textContent = state.text;
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 1000);
})();

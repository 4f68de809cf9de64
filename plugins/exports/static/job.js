/* A background export's page: polls the job's status, moves the progress bar, and
   reloads the page once the job has finished (the server then shows the download
   link or the error). Without JavaScript a <noscript> meta refresh reloads it. */
(function () {
  "use strict";
  var box = document.getElementById("export-job");
  var bar = document.getElementById("export-progress");
  var text = document.getElementById("export-progress-text");
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

// Small progressive enhancements; every page works without this file.
"use strict";

function enhance(root) {
  // Show/hide password: the button is hidden until this script can make it work.
  root.querySelectorAll("[data-password-toggle]").forEach(function (button) {
    if (button.dataset.ready) return;
    var input = document.getElementById(button.dataset.passwordToggle);
    if (!input) return;
    button.dataset.ready = "1";
    button.hidden = false;
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? "Sembunyikan" : "Tampilkan";
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
  });

  // Copy and print buttons: hidden until this script can make them work.
  root.querySelectorAll("[data-copy]").forEach(function (button) {
    if (button.dataset.ready || !navigator.clipboard) return;
    button.dataset.ready = "1";
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var lines = Array.prototype.map.call(source.querySelectorAll("li"), function (li) { return li.textContent; });
      navigator.clipboard.writeText(lines.join("\n")).then(function () { button.textContent = button.dataset.copied; });
    });
  });
  root.querySelectorAll("[data-print]").forEach(function (button) {
    if (button.dataset.ready) return;
    button.dataset.ready = "1";
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // A link in the error summary moves the focus into its field, not only the view.
  root.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) return;
      event.preventDefault();
      input.focus();
      input.scrollIntoView({block: "center"});
    });
  });

  // The enrollment page's server clock keeps ticking, to compare with the phone's.
  var serverTime = root.querySelector("#server-time");
  if (serverTime && !serverTime.dataset.ready) {
    serverTime.dataset.ready = "1";
    var offset = Date.parse(serverTime.dateTime) - Date.now();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    setInterval(function () {
      var wib = new Date(Date.now() + offset + 7 * 3600 * 1000);
      serverTime.textContent = pad(wib.getUTCHours()) + "." + pad(wib.getUTCMinutes()) + "." + pad(wib.getUTCSeconds());
    }, 1000);
  }

  // A narrow screen is probably the phone itself, which can't scan its own screen.
  var manualKey = root.querySelector("#manual-key");
  if (manualKey && window.matchMedia && window.matchMedia("(max-width: 36rem)").matches) {
    manualKey.open = true;
  }
}

document.addEventListener("DOMContentLoaded", function () { enhance(document); });
document.addEventListener("htmx:load", function (event) { enhance(event.target); });

// The MFA set-up steps 1 → 2 → 3 without a round trip: a step's page carries the next
// steps in <template data-step="URL">; their links show them and push their URLs. Each
// step keeps its content while another is shown, so Back and Forward need no request.
// htmx's own history entries (state.htmx) are left to htmx; the entry of the page the
// first link is clicked on becomes one of ours, since htmx (history cache off) would
// reload it from the server on Back.
var setupSteps = null;

function setupStepsOf(main) {
  if (setupSteps && setupSteps.main === main) return setupSteps;
  setupSteps = {main: main, shown: location.pathname, byUrl: {}};
  main.querySelectorAll("template[data-step]").forEach(function (template) {
    setupSteps.byUrl[template.dataset.step] = {title: template.dataset.title,
                                               content: document.importNode(template.content, true)};
    template.remove();
  });
  return setupSteps;
}

function showSetupStep(url) {
  var main = document.getElementById("main");
  var steps = main && setupStepsOf(main);
  var next = steps && steps.byUrl[url];
  if (!next || url === steps.shown) return false;
  var leaving = document.createDocumentFragment();
  Array.prototype.slice.call(main.childNodes).forEach(function (node) {
    if (node.id !== "pesan") leaving.appendChild(node);
  });
  steps.byUrl[steps.shown] = {title: document.title, content: leaving};
  document.getElementById("pesan").textContent = "";
  main.appendChild(next.content);
  steps.byUrl[url] = null;
  steps.shown = url;
  document.title = next.title;
  if (window.htmx) htmx.process(main);
  enhance(main);
  window.scrollTo(0, 0);
  var heading = main.querySelector("h1");
  heading.setAttribute("tabindex", "-1");
  heading.focus();
  return true;
}

document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-step-link]");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  var url = new URL(link.href).pathname;
  var here = location.pathname;
  if (!showSetupStep(url)) return;
  event.preventDefault();
  history.replaceState({setupStep: here}, "", here);
  history.pushState({setupStep: url}, "", url);
});

window.addEventListener("popstate", function (event) {
  if (!event.state || !event.state.setupStep) return;
  var main = document.getElementById("main");
  if (!setupSteps || setupSteps.main !== main) {
    location.reload();  // the page changed since (a form's answer, a reload): the server knows the step
  } else if (location.pathname !== setupSteps.shown && !showSetupStep(location.pathname)) {
    location.reload();
  }
});

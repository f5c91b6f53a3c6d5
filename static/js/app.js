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

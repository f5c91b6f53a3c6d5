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
}

document.addEventListener("DOMContentLoaded", function () { enhance(document); });
document.addEventListener("htmx:load", function (event) { enhance(event.target); });

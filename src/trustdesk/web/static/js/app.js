// Progressive enhancement only: every page works without this script.
// Live countdowns: <span class="countdown" data-due="ISO-8601">…</span>.
(function () {
  "use strict";
  function format(ms) {
    var late = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var text = (d ? d + "d " : "") + h + "h " + String(m).padStart(2, "0") + "m";
    return late ? "overdue by " + text : text + " left";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      el.textContent = format(Date.parse(el.getAttribute("data-due")) - now);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
    // Show only the fields the chosen instrument asks for (the server validates regardless).
    var select = document.getElementById("instrument");
    if (select) {
      var update = function () {
        var option = select.options[select.selectedIndex];
        var needs = (option && option.getAttribute("data-fields") || "").split(" ");
        document.querySelectorAll("[data-field]").forEach(function (el) {
          var field = el.getAttribute("data-field");
          el.hidden = needs.indexOf(field) === -1 && !el.hasAttribute("data-always");
        });
      };
      select.addEventListener("change", update);
      update();
    }
    // Moderation wellness: reveal blurred content in place (without script, the link reloads revealed).
    document.querySelectorAll("[data-wellness] [data-reveal]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var box = link.closest("[data-wellness]");
        var shown = box.classList.toggle("revealed");
        box.querySelectorAll("details.wellness-text").forEach(function (d) { d.open = shown; });
        link.textContent = shown ? "Hide again" : "Reveal the content";
      });
    });
  });
})();

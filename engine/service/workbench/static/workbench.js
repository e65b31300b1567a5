// slapolicy workbench: the little the server cannot do. The page works without it.
// - instants also in the viewer's time zone (the server writes the policy's);
// - "your time" link for the timeline, with the browser's IANA zone;
// - the edition list follows the chosen policy; the copy button; the regulation picker.
(function () {
  "use strict";
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* old browser */ }
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat("en-GB", {weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone, timeZoneName: "short"});
  } catch (e) { fmt = null; }
  function local(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    return fmt ? fmt.format(d).replace(",", "") : d.toString();
  }
  function ready() {
    var i, nodes;
    nodes = document.querySelectorAll(".viewer[data-at]");
    for (i = 0; i < nodes.length; i++) { nodes[i].textContent = local(nodes[i].getAttribute("data-at")) + " (" + zone + ")"; }
    nodes = document.querySelectorAll(".viewer-cell[data-at]");
    for (i = 0; i < nodes.length; i++) { nodes[i].textContent = local(nodes[i].getAttribute("data-at")); }
    nodes = document.querySelectorAll(".viewer-zone");
    for (i = 0; i < nodes.length; i++) { nodes[i].textContent = "(" + zone + ")"; }
    var viewer = document.getElementById("tz-viewer");
    if (viewer && viewer.getAttribute("data-base")) {
      var svg = document.querySelector("svg.timeline");
      var shown = svg ? svg.getAttribute("data-timezone") : "";
      viewer.setAttribute("href", viewer.getAttribute("data-base") + "&tz=" + encodeURIComponent(zone));
      if (!viewer.classList.contains("active")) { viewer.textContent = "your time (" + zone + ")"; }
      else if (shown) { viewer.textContent = shown; }
    }
    // the edition list follows the policy
    var policy = document.getElementById("f-policy"), edition = document.getElementById("f-edition");
    if (policy && edition) {
      policy.addEventListener("change", function () {
        var opt = policy.options[policy.selectedIndex];
        var names = (opt.getAttribute("data-editions") || "").split("|");
        while (edition.options.length > 1) { edition.remove(1); }
        for (var j = 0; j < names.length; j++) {
          if (names[j]) { edition.add(new Option(names[j], names[j])); }
        }
        edition.selectedIndex = 0;
      });
    }
    // the regulation page: choosing a policy opens it
    var picker = document.querySelector("select[data-navigate=regulation]");
    if (picker) {
      picker.addEventListener("change", function () {
        window.location.href = "/workbench/regulation/" + encodeURIComponent(picker.value);
      });
    }
    nodes = document.querySelectorAll("button.copy[data-copy]");
    for (i = 0; i < nodes.length; i++) {
      nodes[i].addEventListener("click", function (ev) {
        var button = ev.currentTarget;
        var input = document.getElementById(button.getAttribute("data-copy"));
        if (!input) { return; }
        input.select();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
        } else { document.execCommand("copy"); done(); }
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
}());

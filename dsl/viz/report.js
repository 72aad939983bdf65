// Hovering over a kernel in the graph highlights its streams and its row in the kernel table.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dsl-graph-data").textContent);
  var svg = document.querySelector("#graph svg");
  if (!svg) return;
  // a wide graph (a whole layer) shrinks to the page at most to half its size, then scrolls: labels stay legible
  svg.style.minWidth = Math.round(svg.width.baseVal.value / 2) + "px";
  function mark(nodeId, on) {
    var node = document.getElementById(nodeId);
    if (node) node.classList.toggle("dsl-hl", on);
    Object.keys(data.edges).forEach(function (edgeId) {
      var ends = data.edges[edgeId];
      if (ends[0] === nodeId || ends[1] === nodeId) {
        var edge = document.getElementById(edgeId);
        if (edge) edge.classList.toggle("dsl-hl", on);
      }
    });
  }
  svg.querySelectorAll("g.node.kernel").forEach(function (node) {
    node.addEventListener("mouseenter", function () { mark(node.id, true); });
    node.addEventListener("mouseleave", function () { mark(node.id, false); });
  });
})();

(function () {
  "use strict";
  var table = document.getElementById("apps");
  var body = table.tBodies[0];
  var headings = table.tHead.rows[0].cells;
  var filter = document.getElementById("filter");
  function key(cell, numeric) {
    var text = cell.getAttribute("data-sort") || cell.textContent;
    return numeric ? parseFloat(text) || 0 : text.toLowerCase();
  }
  function sortBy(index, descending) {
    var heading = headings[index];
    if (!heading || !heading.hasAttribute("data-type")) { return; }
    var numeric = heading.getAttribute("data-type") === "number";
    Array.prototype.forEach.call(headings, function (h) { h.removeAttribute("aria-sort"); });
    heading.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function applyFilter(needle) {
    needle = needle.toLowerCase();
    Array.prototype.forEach.call(body.rows, function (row) {
      row.hidden = needle !== "" && row.getAttribute("data-search").indexOf(needle) < 0;
    });
  }
  Array.prototype.forEach.call(headings, function (heading, index) {
    heading.addEventListener("click", function () {
      sortBy(index, heading.getAttribute("aria-sort") === "ascending");
    });
  });
  filter.addEventListener("input", function () { applyFilter(filter.value); });
  // a view can be linked: index.html#sort=4&desc=1&filter=umeng
  var state = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {
    var pair = part.split("=");
    if (pair[0]) { state[decodeURIComponent(pair[0])] = decodeURIComponent(pair[1] || ""); }
  });
  if (state.sort) { sortBy(parseInt(state.sort, 10), state.desc === "1"); }
  if (state.filter) { filter.value = state.filter; applyFilter(state.filter); }
  document.body.setAttribute("data-ready", "1");
})();

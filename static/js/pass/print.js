// The paper pass page: its print button (no inline script under the CSP).
(function () {
  "use strict";
  var button = document.getElementById("print-pass");
  if (button) button.addEventListener("click", function () { window.print(); });
})();

/* The withdrawal's confirmation step, made exact as the amount is typed: "250.00 USD
 * moves from available (1300.00 -> 1050.00) to your bank". Without this script the step
 * still asks, with the available balance; the server decides either way. */
(function () {
  "use strict";

  // "1234.5" -> 123450 cents, or null when it is not an amount with at most 2 places.
  function toCents(raw) {
    var match = /^\s*(\d{1,13})(?:\.(\d{0,2}))?\s*$/.exec(raw || "");
    if (!match) return null;
    return Number(match[1]) * 100 + Number(((match[2] || "") + "00").slice(0, 2));
  }

  function show(cents) {
    return (cents < 0 ? "\u2212" : "") + (Math.abs(cents) / 100).toFixed(2);
  }

  document.querySelectorAll("form[data-withdraw-confirm]").forEach(function (form) {
    var available = toCents(form.dataset.available);
    var currency = form.dataset.currency;
    var input = form.querySelector("input[name$='-amount']");
    var text = form.querySelector("[data-confirm-text]");
    var original = text.textContent;
    function update() {
      var cents = toCents(input.value);
      if (cents === null || cents === 0 || available === null) {
        text.textContent = original;
      } else if (cents > available) {
        text.textContent = show(cents) + " " + currency + " is more than your available " +
          show(available) + " " + currency + ": the withdrawal will be refused.";
      } else {
        text.textContent = show(cents) + " " + currency + " moves from available (" +
          show(available) + " \u2192 " + show(available - cents) + ") to your bank.";
      }
    }
    input.addEventListener("input", update);
    update();
  });
})();

// Forms with data-confirm ask before they post (Content-Security-Policy allows no inline handlers).
document.addEventListener("submit", function (event) {
  var message = event.target && event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

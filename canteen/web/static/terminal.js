/* The kitchen terminal: the scale's live weight from the page's event feed, and classifying with taps. */
"use strict";

(function () {
  var body = document.body, weight = document.querySelector("[data-weight]");
  var scale = document.querySelector("[data-scale]"), state = document.querySelector("[data-scale-state]");
  var form = document.querySelector("form[data-classify]");

  function choice(name) {
    var checked = form && form.querySelector("input[name=" + name + "]:checked");
    return checked ? checked.value : null;
  }

  /* Unserved food is recorded against a dish: its choices show only for that stage. Once the choices a stage
     needs are all made, the form is sent: stage and reason, and for unserved food the dish. */
  if (form) {
    var dishes = form.querySelector("[data-dishes]");
    var showDishes = function () {
      if (!dishes) { return; }
      dishes.hidden = choice("category") !== "unserved";
      if (dishes.hidden) { dishes.querySelectorAll("input").forEach(function (input) { input.checked = false; }); }
    };
    showDishes();
    form.addEventListener("change", function () {
      showDishes();
      var category = choice("category");
      var complete = category && choice("reason") && (category !== "unserved" || !dishes || choice("dish_id"));
      if (complete) { form.requestSubmit(); }
    });
  }

  if (!body.dataset.feed || !window.EventSource) { return; }
  var feed = new EventSource(body.dataset.feed);
  feed.addEventListener("reading", function (event) {
    var reading = JSON.parse(event.data);
    weight.textContent = reading.grams === null ? "—" : (reading.grams / 1000).toFixed(2);
    scale.classList.toggle("stable", reading.stable);
    state.textContent = !reading.sending ? state.dataset.offline : (reading.stable ? state.dataset.steady : state.dataset.moving);
  });
  /* A weighing arrived or was classified elsewhere: show the new list, unless a choice is half made here. */
  feed.addEventListener("weighings", function () {
    if (!form || !form.querySelector("input:checked")) { window.location.reload(); }
  });
})();

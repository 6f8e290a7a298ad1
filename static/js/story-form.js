/* The story form (admin change page): the source's site and credit under the picker, a live
   word count, and a preview of a chosen hero image. Data comes from the page: the sources as
   a JSON block (json_script), the counted inputs by their data-words attribute. */
(function () {
  "use strict";

  function sourcePanel(form) {
    var data = document.getElementById("source-attributions");
    var select = form.querySelector("select[name=source]");
    var panel = document.getElementById("source-attribution-panel");
    if (!data || !select || !panel) return;
    var sources = JSON.parse(data.textContent);

    function line(term, text) {
      var dt = document.createElement("dt");
      var dd = document.createElement("dd");
      dt.textContent = term;
      dd.textContent = text;
      return [dt, dd];
    }

    function update() {
      var source = sources[select.value];
      panel.replaceChildren();
      if (!source) {
        var p = document.createElement("p");
        p.textContent = "Pick the source this story comes from: readers see its name and credit.";
        panel.append(p);
        return;
      }
      var list = document.createElement("dl");
      list.append.apply(list, line("Site", source.site || "(none given)"));
      list.append.apply(
        list,
        line("Credit readers will see", source.credit || "(none: add one to the source before submitting)")
      );
      panel.append(list);
    }

    select.addEventListener("change", update);
    // The admin's autocomplete (select2) announces a pick through jQuery only.
    if (window.django && window.django.jQuery) window.django.jQuery(select).on("change", update);
    update();
  }

  function countWords(text) {
    var words = text.trim().split(/\s+/);
    return words[0] === "" ? 0 : words.length;
  }

  function counted(input) {
    if (input.name.indexOf("__prefix__") !== -1) return false; // the template for "Add another"
    var row = input.closest(".djn-inline-form");
    while (row) {
      var deleted = row.querySelector("input[name$='-DELETE']");
      if (deleted && deleted.checked && deleted.closest(".djn-inline-form") === row) return false;
      row = row.parentElement && row.parentElement.closest(".djn-inline-form");
    }
    return true;
  }

  function wordCount(form) {
    var output = document.getElementById("story-word-count");
    if (!output) return;
    function update() {
      var total = 0;
      form.querySelectorAll("[data-words]").forEach(function (input) {
        if (counted(input)) total += countWords(input.value);
      });
      var text = total.toLocaleString() + (total === 1 ? " word" : " words") + " (lede, sections, points and take)";
      if (output.textContent !== text) output.textContent = text; // (a change here is itself a mutation)
      output.hidden = false;
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    new MutationObserver(update).observe(form, { childList: true, subtree: true });
    update();
  }

  function imagePreview(form) {
    var input = form.querySelector("input[type=file][name=image]");
    if (!input) return;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var box = input.closest(".hero-image");
      var figure = box && box.querySelector(".hero-image__preview");
      if (!file || !figure || !/^image\//.test(file.type)) return;
      var reader = new FileReader();
      reader.addEventListener("load", function () {
        var img = figure.querySelector("img");
        img.src = reader.result; // a data: URL, which the page's policy allows for images
        img.alt = "Preview of the chosen image";
        figure.querySelector("figcaption").textContent = "The image you chose (saved with the story).";
        figure.hidden = false;
      });
      reader.readAsDataURL(file);
    });
  }

  // The Take is one fixed block: a story without one is shown the blank block at once
  // (nested_admin's own "add", so the posted form is the usual one); a blank block saves nothing.
  function fixedTake() {
    var group = document.getElementById("take-group");
    if (!group) return;
    var add = group.querySelector(".djn-add-handler.djn-model-articles-take");
    if (!document.getElementById("take-0") && add) add.click();
  }

  // select2's box for the chosen item (a "textbox") is named only by its title, which an
  // empty picker lacks: name it after the field's label.
  function nameAutocompletes(form) {
    form.querySelectorAll(".select2-selection__rendered[role=textbox]").forEach(function (box) {
      if (box.getAttribute("aria-label")) return;
      var id = box.id.replace(/^select2-(.*)-container$/, "$1");
      var label = document.querySelector("label[for='" + id + "']");
      box.setAttribute("aria-label", label ? label.textContent.replace(/:\s*$/, "").trim() : "Chosen item");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("article_form");
    if (!form) return;
    // After nested_admin has set up its groups (its own DOMContentLoaded handler).
    window.setTimeout(function () {
      fixedTake();
      nameAutocompletes(form);
    }, 0);
    sourcePanel(form);
    wordCount(form);
    imagePreview(form);
  });
})();

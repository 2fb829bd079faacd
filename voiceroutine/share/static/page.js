// Chapter buttons seek their card's player; the chapter playing is highlighted.
for (const card of document.querySelectorAll(".routine:not(.studio)")) {
  const audio = card.querySelector("audio");
  const buttons = [...card.querySelectorAll("button[data-start]")];
  for (const button of buttons) {
    button.addEventListener("click", () => { audio.currentTime = Number(button.dataset.start); audio.play(); });
  }
  audio.addEventListener("timeupdate", () => {
    let current = null;
    for (const b of buttons) if (Number(b.dataset.start) <= audio.currentTime + 0.05) current = b;
    for (const b of buttons) b.setAttribute("aria-current", String(b === current));
  });
}

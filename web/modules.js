// Screens of the modules (mine action, logistics, shelter, people, agreements,
// bulletins). Each appears only when the server offers the module's API and
// the role may use it.
export function moduleScreens() {
  return [];
}

import { render } from "preact";

function App() {
  return <main>Fieldbook</main>;
}

render(<App />, document.getElementById("app")!);

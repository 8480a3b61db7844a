/**
 * The dashboard shell: menu, API-key form, connection banner and the hash router
 * (`#/<page>/<params…>`, see pages.ts). Served by `embedkit serve` at `/`.
 */
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { authMessage, connection, setApiKey } from "./api";
import { PAGES } from "./pages";

function currentRoute(): { path: string; params: string[] } {
  const parts = location.hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter((part) => part !== "");
  const [path = "overview", ...params] = parts;
  return { path, params: params.map((part) => decodeURIComponent(part)) };
}

function KeyForm() {
  const [value, setValue] = useState("");
  return (
    <form
      class="key-form"
      onSubmit={(event) => {
        event.preventDefault();
        setApiKey(value.trim());
        connection.value = "ok";
        location.reload();
      }}
    >
      <p class="error" role="alert">
        {authMessage.value}
      </p>
      <label>
        API key{" "}
        <input
          type="password"
          name="api-key"
          autocomplete="off"
          value={value}
          onInput={(event) => setValue((event.target as HTMLInputElement).value)}
        />
      </label>{" "}
      <button type="submit">Use key</button>
      <p class="hint">
        The key is kept in this tab only (sessionStorage) and sent in the Authorization header.
      </p>
    </form>
  );
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const page = PAGES.find((entry) => entry.path === route.path) ?? PAGES[0];
  if (page === undefined) return null;
  const Page = page.component;
  return (
    <div class="shell">
      <nav>
        <strong class="brand">embedkit</strong>
        {PAGES.map((entry) => (
          <a key={entry.path} href={`#/${entry.path}`} class={entry === page ? "active" : ""}>
            {entry.title}
          </a>
        ))}
        <button
          type="button"
          class="link"
          onClick={() => {
            setApiKey(null);
            location.reload();
          }}
        >
          Forget key
        </button>
      </nav>
      {connection.value === "down" && (
        <p class="banner" role="status">
          Server unreachable — reconnecting…
        </p>
      )}
      <main>
        {connection.value === "auth" ? (
          <KeyForm />
        ) : (
          <Page key={`${page.path}/${route.params.join("/")}`} params={route.params} />
        )}
      </main>
    </div>
  );
}

const root = document.getElementById("app");
if (root !== null) render(<App />, root);

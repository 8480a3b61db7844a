/**
 * The dashboard's pages, in menu order. Adding a page is one file in pages/
 * exporting a component, plus one entry here: `path` is its hash route
 * (`#/<path>/<param…>`), `title` its menu label.
 */
import type { ComponentType } from "preact";
import { CollectionPage } from "./pages/collection";
import { FaqPage } from "./pages/faq";
import { MapPage } from "./pages/map";
import { OverviewPage } from "./pages/overview";
import { PlaygroundPage } from "./pages/playground";
import { RecommendPage } from "./pages/recommend";
import { ReportsPage } from "./pages/reports";
import { SocialPage } from "./pages/social";

/** What every page gets: the route's parameters after its path (`#/map/docs` → ["docs"]). */
export interface PageProps {
  readonly params: readonly string[];
}

export interface PageEntry {
  readonly path: string;
  readonly title: string;
  readonly component: ComponentType<PageProps>;
}

export const PAGES: readonly PageEntry[] = [
  { path: "overview", title: "Overview", component: OverviewPage },
  { path: "collection", title: "Collections", component: CollectionPage },
  { path: "map", title: "Map", component: MapPage },
  { path: "playground", title: "Similarity", component: PlaygroundPage },
  { path: "faq", title: "FAQ tester", component: FaqPage },
  { path: "recommend", title: "Recommendations", component: RecommendPage },
  { path: "social", title: "Social", component: SocialPage },
  { path: "reports", title: "Reports", component: ReportsPage },
];

/**
 * Small corpora with two planted topics for the topic-discovery tests: every
 * text of one topic names its planted word (English "baggage" / "coffee",
 * Chinese 行李 / 咖啡); the places are shared by both topics, so only the topic
 * tells the texts apart. Written for these tests (no outside source).
 */

const CITIES = ["Boston", "Denver", "Chicago", "Seattle"];
const BAGGAGE = [
  "The airline lost my baggage on the flight to {city}.",
  "Still waiting at {city} airport for my checked baggage, nobody at the desk knows where it is.",
  "My baggage came off the plane in {city} with a broken handle and a torn zipper.",
  "Third day without my baggage after landing in {city}; the lost baggage claim line is endless.",
  "They charged me sixty dollars for one extra piece of baggage on the {city} flight.",
  "The baggage carousel in {city} stopped and our bags never arrived.",
];
const COFFEE = [
  "The coffee at that little cafe in {city} is the best espresso I have had.",
  "Tried a new coffee roaster in {city} this morning; the latte was smooth and sweet.",
  "Nothing beats a hot cup of coffee on a rainy morning in {city}.",
  "The barista in {city} made my coffee with oat milk and a perfect foam heart.",
  "I buy whole coffee beans from a shop in {city} and grind them fresh every day.",
  "Iced coffee with caramel syrup from the {city} coffee bar is my afternoon treat.",
];

const FOOTBALL = [
  "The football match in {city} ended with a late goal from the striker.",
  "Our football team lost at home in {city} after the referee gave a penalty.",
  "Tickets for the {city} football derby sold out in ten minutes.",
  "The football coach in {city} changed the formation and the defence held.",
  "A last-minute football goal in {city} sent the fans into the streets.",
  "The {city} football club signed a young midfielder for the new season.",
];

const CITIES_ZH = ["北京", "上海", "广州", "成都"];
const BAGGAGE_ZH = [
  "航空公司把我的行李弄丢了，{city}机场的工作人员一直找不到。",
  "在{city}下飞机以后等了两个小时，托运的行李还是没有出来。",
  "我的行李箱在{city}到达时轮子坏了，拉链也被扯开了。",
  "从{city}出发的航班额外行李收费太贵，一件行李要三百元。",
  "{city}机场的行李转盘停了，大家的行李都没有到。",
  "第三天了还没有收到行李，{city}的行李查询电话根本打不通。",
];
const COFFEE_ZH = [
  "{city}那家小咖啡馆的咖啡是我喝过最好喝的浓缩咖啡。",
  "今天早上在{city}试了一家新的咖啡店，拿铁非常顺滑。",
  "下雨的早晨在{city}喝一杯热咖啡真是享受。",
  "{city}的咖啡师用燕麦奶给我做了一杯拉花咖啡。",
  "我每周在{city}的小店买新鲜咖啡豆，回家自己研磨。",
  "{city}咖啡吧的冰咖啡加焦糖糖浆是我下午的最爱。",
];

/** A corpus: texts and the planted topic of each (0 or 1). */
export interface PlantedCorpus {
  readonly texts: readonly string[];
  readonly truth: readonly number[];
  /** The planted word of topic 0 and of topic 1. */
  readonly words: readonly [string, string];
}

function fill(templates: readonly string[], cities: readonly string[]): string[] {
  return templates.flatMap((template) => cities.map((city) => template.replaceAll("{city}", city)));
}

function interleave(first: string[], second: string[], words: readonly [string, string]): PlantedCorpus {
  const texts: string[] = [];
  const truth: number[] = [];
  first.forEach((text, index) => {
    texts.push(text, second[index] as string);
    truth.push(0, 1);
  });
  return { texts, truth, words };
}

/** 48 English texts: 24 about lost or damaged baggage, 24 about coffee. */
export function englishCorpus(): PlantedCorpus {
  return interleave(fill(BAGGAGE, CITIES), fill(COFFEE, CITIES), ["baggage", "coffee"]);
}

/** 72 English texts: baggage, coffee and football (24 each, in turn). */
export function threeTopicCorpus(): PlantedCorpus & { readonly third: string } {
  const baggage = fill(BAGGAGE, CITIES);
  const coffee = fill(COFFEE, CITIES);
  const football = fill(FOOTBALL, CITIES);
  const texts: string[] = [];
  const truth: number[] = [];
  baggage.forEach((text, index) => {
    texts.push(text, coffee[index] as string, football[index] as string);
    truth.push(0, 1, 2);
  });
  return { texts, truth, words: ["baggage", "coffee"], third: "football" };
}

/** 48 Chinese texts: 24 about baggage (行李), 24 about coffee (咖啡). */
export function chineseCorpus(): PlantedCorpus {
  return interleave(fill(BAGGAGE_ZH, CITIES_ZH), fill(COFFEE_ZH, CITIES_ZH), ["行李", "咖啡"]);
}

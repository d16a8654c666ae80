"""The small world: every fact the tiny model can know, and every text made from them.

A real LLM is pre-trained on a crawl of the web. Ours is pre-trained on text about
a small, fully known world, so every claim the guide makes ("the model learned
that the capital of France is Paris") can be checked against the fact tables here.

Two parts:

1. `make_world(seed)` builds the fact tables: real countries with their real
   capitals, continents, languages and currencies; football players (Lionel Messi
   plus invented ones) with goals per year; animals; foods; word pairs such as
   king/queen. Later stages (instruction tuning, preference data, agent
   transcripts, the search tool's knowledge base) query these tables, so
   everything downstream agrees with what the model saw in pre-training.

2. `pretrain_documents(world, split, seed)` renders the facts as text.
   What a tiny model can learn from text depends a lot on how facts are
   written (see Allen-Zhu and Li, "Physics of Language Models 3.1"): a fact
   seen in one phrasing is memorised verbatim but cannot be *extracted* by a
   question later. So each relation has at least eight phrasings, all facts
   about one entity sit together in one passage, and every passage shuffles its
   sentences. Weather bulletins carry the guide's "flash flood watch ... all
   night" example, and copy passages state random numbers and invented names,
   then repeat them: the only way to predict the repetition is to copy from
   the context, the skill an agent needs to carry a tool's answer forward.

Everything is deterministic: the same seed gives the same world and the same
documents, byte for byte. The text is plain ASCII.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Fact records


@dataclass(frozen=True)
class Country:
    name: str
    capital: str
    continent: str
    language: str
    currency: str


@dataclass(frozen=True)
class Player:
    name: str
    country: str   # nationality: a Country.name of this world
    club: str
    position: str  # forward, midfielder, defender or goalkeeper
    goals: tuple[tuple[int, int], ...]  # (year, goals scored that year), one per World.years

    def goals_in(self, year: int) -> int:
        return dict(self.goals)[year]


@dataclass(frozen=True)
class Animal:
    name: str
    sound: str
    legs: int
    habitat: str  # with its preposition: "on the savanna", "in the ocean"
    diet: str


@dataclass(frozen=True)
class Food:
    name: str
    color: str
    taste: str
    kind: str  # fruit, vegetable, nut, snack


@dataclass(frozen=True)
class World:
    countries: tuple[Country, ...]
    players: tuple[Player, ...]
    animals: tuple[Animal, ...]
    foods: tuple[Food, ...]
    years: tuple[int, ...]                    # the years players have goal counts for
    gender_pairs: tuple[tuple[str, str], ...]  # (male word, female word): king/queen ...
    weather_endings: tuple[tuple[str, float], ...]  # "... in effect all <ending>" and its weight

    def country(self, name: str) -> Country:
        return next(c for c in self.countries if c.name == name)

    def player(self, name: str) -> Player:
        return next(p for p in self.players if p.name == name)

    def animal(self, name: str) -> Animal:
        return next(a for a in self.animals if a.name == name)

    def food(self, name: str) -> Food:
        return next(f for f in self.foods if f.name == name)

    def goals(self, player: str, year: int) -> int:
        return self.player(player).goals_in(year)

    def capital_prompts(self) -> list[tuple[str, str]]:
        """(prompt, answer) pairs for the recall test: ("The capital of France is", " Paris")."""
        return [(f"The capital of {c.name} is", f" {c.capital}") for c in self.countries]

    def facts(self) -> list[tuple[str, str, str]]:
        """Every fact as (subject, relation, value), e.g. ("France", "capital", "Paris").

        Relations are the keys of TEMPLATES, except that goals carry their year:
        ("Lionel Messi", "goals 2023", "11").
        """
        out = []
        for c in self.countries:
            out += [(c.name, "capital", c.capital), (c.name, "continent", c.continent),
                    (c.name, "language", c.language), (c.name, "currency", c.currency)]
        for p in self.players:
            out += [(p.name, "nationality", p.country), (p.name, "club", p.club),
                    (p.name, "position", p.position)]
            out += [(p.name, f"goals {year}", str(n)) for year, n in p.goals]
        for a in self.animals:
            out += [(a.name, "sound", a.sound), (a.name, "legs", str(a.legs)),
                    (a.name, "habitat", a.habitat), (a.name, "diet", a.diet)]
        for f in self.foods:
            out += [(f.name, "color", f.color), (f.name, "taste", f.taste), (f.name, "kind", f.kind)]
        return out


# ---------------------------------------------------------------------------
# The fact tables. Countries, animals and foods are real (country names need no
# "the", so "The capital of X is" reads well for every X). Football is made up:
# apart from Lionel Messi's nationality, his club and the guide's example of 11
# goals in 2023, players, clubs and goal counts are invented.

# name, capital, continent, language, currency
COUNTRIES = [
    ("France", "Paris", "Europe", "French", "euro"),
    ("Germany", "Berlin", "Europe", "German", "euro"),
    ("Italy", "Rome", "Europe", "Italian", "euro"),
    ("Spain", "Madrid", "Europe", "Spanish", "euro"),
    ("Portugal", "Lisbon", "Europe", "Portuguese", "euro"),
    ("Greece", "Athens", "Europe", "Greek", "euro"),
    ("Poland", "Warsaw", "Europe", "Polish", "zloty"),
    ("Sweden", "Stockholm", "Europe", "Swedish", "krona"),
    ("Norway", "Oslo", "Europe", "Norwegian", "krone"),
    ("Finland", "Helsinki", "Europe", "Finnish", "euro"),
    ("Denmark", "Copenhagen", "Europe", "Danish", "krone"),
    ("Ireland", "Dublin", "Europe", "English", "euro"),
    ("Austria", "Vienna", "Europe", "German", "euro"),
    ("Hungary", "Budapest", "Europe", "Hungarian", "forint"),
    ("Romania", "Bucharest", "Europe", "Romanian", "leu"),
    ("Czechia", "Prague", "Europe", "Czech", "koruna"),
    ("Croatia", "Zagreb", "Europe", "Croatian", "euro"),
    ("Serbia", "Belgrade", "Europe", "Serbian", "dinar"),
    ("Ukraine", "Kyiv", "Europe", "Ukrainian", "hryvnia"),
    ("Iceland", "Reykjavik", "Europe", "Icelandic", "krona"),
    ("Switzerland", "Bern", "Europe", "German", "franc"),
    ("Belgium", "Brussels", "Europe", "Dutch", "euro"),
    ("Estonia", "Tallinn", "Europe", "Estonian", "euro"),
    ("Latvia", "Riga", "Europe", "Latvian", "euro"),
    ("Lithuania", "Vilnius", "Europe", "Lithuanian", "euro"),
    ("Japan", "Tokyo", "Asia", "Japanese", "yen"),
    ("China", "Beijing", "Asia", "Chinese", "yuan"),
    ("India", "New Delhi", "Asia", "Hindi", "rupee"),
    ("Indonesia", "Jakarta", "Asia", "Indonesian", "rupiah"),
    ("Thailand", "Bangkok", "Asia", "Thai", "baht"),
    ("Vietnam", "Hanoi", "Asia", "Vietnamese", "dong"),
    ("Pakistan", "Islamabad", "Asia", "Urdu", "rupee"),
    ("Bangladesh", "Dhaka", "Asia", "Bengali", "taka"),
    ("Nepal", "Kathmandu", "Asia", "Nepali", "rupee"),
    ("Mongolia", "Ulaanbaatar", "Asia", "Mongolian", "tugrik"),
    ("Malaysia", "Kuala Lumpur", "Asia", "Malay", "ringgit"),
    ("Turkey", "Ankara", "Asia", "Turkish", "lira"),
    ("Iran", "Tehran", "Asia", "Persian", "rial"),
    ("Iraq", "Baghdad", "Asia", "Arabic", "dinar"),
    ("Jordan", "Amman", "Asia", "Arabic", "dinar"),
    ("Qatar", "Doha", "Asia", "Arabic", "riyal"),
    ("Saudi Arabia", "Riyadh", "Asia", "Arabic", "riyal"),
    ("Kazakhstan", "Astana", "Asia", "Kazakh", "tenge"),
    ("Cambodia", "Phnom Penh", "Asia", "Khmer", "riel"),
    ("Laos", "Vientiane", "Asia", "Lao", "kip"),
    ("South Korea", "Seoul", "Asia", "Korean", "won"),
    ("Egypt", "Cairo", "Africa", "Arabic", "pound"),
    ("Nigeria", "Abuja", "Africa", "English", "naira"),
    ("Kenya", "Nairobi", "Africa", "Swahili", "shilling"),
    ("Ethiopia", "Addis Ababa", "Africa", "Amharic", "birr"),
    ("Ghana", "Accra", "Africa", "English", "cedi"),
    ("Morocco", "Rabat", "Africa", "Arabic", "dirham"),
    ("Algeria", "Algiers", "Africa", "Arabic", "dinar"),
    ("Tunisia", "Tunis", "Africa", "Arabic", "dinar"),
    ("Senegal", "Dakar", "Africa", "French", "franc"),
    ("Uganda", "Kampala", "Africa", "English", "shilling"),
    ("Tanzania", "Dodoma", "Africa", "Swahili", "shilling"),
    ("Zambia", "Lusaka", "Africa", "English", "kwacha"),
    ("Angola", "Luanda", "Africa", "Portuguese", "kwanza"),
    ("Mozambique", "Maputo", "Africa", "Portuguese", "metical"),
    ("Madagascar", "Antananarivo", "Africa", "Malagasy", "ariary"),
    ("Rwanda", "Kigali", "Africa", "Kinyarwanda", "franc"),
    ("Mali", "Bamako", "Africa", "French", "franc"),
    ("Cameroon", "Yaounde", "Africa", "French", "franc"),
    ("Canada", "Ottawa", "North America", "English", "dollar"),
    ("Mexico", "Mexico City", "North America", "Spanish", "peso"),
    ("Cuba", "Havana", "North America", "Spanish", "peso"),
    ("Jamaica", "Kingston", "North America", "English", "dollar"),
    ("Panama", "Panama City", "North America", "Spanish", "balboa"),
    ("Costa Rica", "San Jose", "North America", "Spanish", "colon"),
    ("Guatemala", "Guatemala City", "North America", "Spanish", "quetzal"),
    ("Honduras", "Tegucigalpa", "North America", "Spanish", "lempira"),
    ("Brazil", "Brasilia", "South America", "Portuguese", "real"),
    ("Argentina", "Buenos Aires", "South America", "Spanish", "peso"),
    ("Chile", "Santiago", "South America", "Spanish", "peso"),
    ("Peru", "Lima", "South America", "Spanish", "sol"),
    ("Colombia", "Bogota", "South America", "Spanish", "peso"),
    ("Venezuela", "Caracas", "South America", "Spanish", "bolivar"),
    ("Ecuador", "Quito", "South America", "Spanish", "dollar"),
    ("Uruguay", "Montevideo", "South America", "Spanish", "peso"),
    ("Paraguay", "Asuncion", "South America", "Spanish", "guarani"),
    ("Australia", "Canberra", "Oceania", "English", "dollar"),
    ("New Zealand", "Wellington", "Oceania", "English", "dollar"),
    ("Fiji", "Suva", "Oceania", "English", "dollar"),
    ("Papua New Guinea", "Port Moresby", "Oceania", "English", "kina"),
]

# name, sound, legs, habitat, diet
ANIMALS = [
    ("cat", "meow", 4, "in a house", "fish"),
    ("dog", "woof", 4, "in a house", "meat"),
    ("cow", "moo", 4, "on a farm", "grass"),
    ("horse", "neigh", 4, "on a farm", "hay"),
    ("sheep", "baa", 4, "on a farm", "grass"),
    ("pig", "oink", 4, "on a farm", "scraps"),
    ("goat", "meh", 4, "in the mountains", "grass"),
    ("donkey", "hee-haw", 4, "on a farm", "hay"),
    ("chicken", "cluck", 2, "on a farm", "seeds"),
    ("duck", "quack", 2, "on a pond", "bread"),
    ("owl", "hoot", 2, "in the forest", "mice"),
    ("crow", "caw", 2, "in the forest", "seeds"),
    ("frog", "croak", 4, "on a pond", "insects"),
    ("snake", "hiss", 0, "in the desert", "mice"),
    ("bee", "buzz", 6, "in a garden", "nectar"),
    ("spider", "tick", 8, "in a garden", "insects"),
    ("lion", "roar", 4, "on the savanna", "meat"),
    ("giraffe", "hum", 4, "on the savanna", "leaves"),
    ("elephant", "toot", 4, "on the savanna", "leaves"),
    ("zebra", "bark", 4, "on the savanna", "grass"),
    ("wolf", "howl", 4, "in the forest", "meat"),
    ("bear", "growl", 4, "in the forest", "berries"),
    ("fox", "yip", 4, "in the forest", "mice"),
    ("mouse", "squeak", 4, "in a field", "seeds"),
    ("monkey", "ooh", 2, "in the jungle", "bananas"),
    ("parrot", "squawk", 2, "in the jungle", "nuts"),
    ("tiger", "growl", 4, "in the jungle", "meat"),
    ("dolphin", "click", 0, "in the ocean", "fish"),
    ("whale", "moan", 0, "in the ocean", "krill"),
    ("penguin", "honk", 2, "on the ice", "fish"),
    ("camel", "grunt", 4, "in the desert", "leaves"),
    ("kangaroo", "chortle", 2, "in the outback", "grass"),
]

# name, color, taste, kind
FOODS = [
    ("apple", "red", "sweet", "fruit"),
    ("banana", "yellow", "sweet", "fruit"),
    ("lemon", "yellow", "sour", "fruit"),
    ("lime", "green", "sour", "fruit"),
    ("cherry", "red", "sweet", "fruit"),
    ("grape", "purple", "sweet", "fruit"),
    ("orange", "orange", "sweet", "fruit"),
    ("pear", "green", "sweet", "fruit"),
    ("plum", "purple", "sweet", "fruit"),
    ("peach", "orange", "sweet", "fruit"),
    ("strawberry", "red", "sweet", "fruit"),
    ("mango", "orange", "sweet", "fruit"),
    ("pineapple", "yellow", "sweet", "fruit"),
    ("coconut", "brown", "mild", "fruit"),
    ("grapefruit", "pink", "bitter", "fruit"),
    ("carrot", "orange", "sweet", "vegetable"),
    ("potato", "brown", "mild", "vegetable"),
    ("tomato", "red", "sour", "vegetable"),
    ("onion", "white", "sharp", "vegetable"),
    ("cucumber", "green", "mild", "vegetable"),
    ("pumpkin", "orange", "mild", "vegetable"),
    ("radish", "red", "sharp", "vegetable"),
    ("chili", "red", "spicy", "vegetable"),
    ("olive", "green", "salty", "fruit"),
    ("walnut", "brown", "bitter", "nut"),
    ("peanut", "brown", "salty", "nut"),
    ("cookie", "brown", "sweet", "snack"),
    ("pretzel", "brown", "salty", "snack"),
    ("doughnut", "brown", "sweet", "snack"),
    ("pickle", "green", "sour", "snack"),
]

GENDER_PAIRS = [
    ("king", "queen"), ("prince", "princess"), ("duke", "duchess"), ("emperor", "empress"),
    ("lord", "lady"), ("man", "woman"), ("boy", "girl"), ("father", "mother"),
    ("son", "daughter"), ("brother", "sister"), ("uncle", "aunt"), ("husband", "wife"),
    ("grandfather", "grandmother"), ("nephew", "niece"), ("actor", "actress"), ("waiter", "waitress"),
]
ROYAL = {"king", "queen", "prince", "princess", "duke", "duchess", "emperor", "empress", "lord", "lady"}

# "A flash flood watch will be in effect all ___": night most often, day second, and
# never an animal, so the model's ranking matches the guide's example.
WEATHER_ENDINGS = [("night", 0.45), ("day", 0.27), ("morning", 0.08), ("evening", 0.07),
                   ("afternoon", 0.05), ("weekend", 0.05), ("week", 0.03)]

YEARS = tuple(range(2015, 2025))
FIRST_NAMES = [
    "Marco", "Luis", "Andre", "Tomas", "Diego", "Kofi", "Jonas", "Mateo", "Ivan", "Hugo",
    "Karim", "Emil", "Rafael", "Yusuf", "Oscar", "Nico", "Pablo", "Sami", "Viktor", "Leon",
    "Theo", "Bruno", "Felix", "Omar", "Aron", "Daniel", "Kenji", "Milan", "Rui", "Sergio",
]
LAST_NAMES = [
    "Silva", "Moreno", "Okafor", "Lindqvist", "Kovac", "Ferreira", "Haddad", "Novak", "Brandt",
    "Castillo", "Mensah", "Petrov", "Rossi", "Dumont", "Yilmaz", "Tanaka", "Varga", "Herrera",
    "Nilsen", "Ortiz", "Adeyemi", "Kaminski", "Duarte", "Fischer", "Balogun", "Marin", "Weber",
    "Sato", "Lopes", "Berg",
]
CLUBS = [
    "Northbridge United", "Redcastle City", "Kelvale Rovers", "Ashford Athletic", "Port Alder FC",
    "Greenhill Wanderers", "Silverton Town", "Eastmoor Albion", "Lakeside Rangers", "Stonebury FC",
    "Westhaven Athletic", "Brightwater United", "Oakridge City", "Marlow Harbour", "Inter Miami",
]
POSITIONS = ["forward", "midfielder", "defender", "goalkeeper"]
GOAL_RANGE = {"forward": (6, 32), "midfielder": (1, 14), "defender": (0, 5), "goalkeeper": (0, 1)}


def make_world(seed: int = 0, n_players: int = 80) -> World:
    """Build the fact tables. Countries, animals and foods are fixed; players are drawn from `seed`."""
    rng = random.Random(f"world-{seed}")
    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    players = [Player("Lionel Messi", "Argentina", "Inter Miami", "forward",
                      tuple((y, 11 if y == 2023 else rng.randint(12, 40)) for y in YEARS))]
    for name in names[: n_players - 1]:
        position = rng.choice(POSITIONS)
        low, high = GOAL_RANGE[position]
        players.append(Player(name, rng.choice(COUNTRIES)[0], rng.choice(CLUBS[:-1]), position,
                              tuple((y, rng.randint(low, high)) for y in YEARS)))
    return World(
        countries=tuple(Country(*c) for c in COUNTRIES),
        players=tuple(players),
        animals=tuple(Animal(*a) for a in ANIMALS),
        foods=tuple(Food(*f) for f in FOODS),
        years=YEARS,
        gender_pairs=tuple(GENDER_PAIRS),
        weather_endings=tuple(WEATHER_ENDINGS),
    )


# ---------------------------------------------------------------------------
# Phrasings. TEMPLATES[relation][0] is the canonical sentence (the one an
# instruction-tuned answer uses); the rest are paraphrases. Placeholders are the
# field names of the passage being written.

TEMPLATES = {
    "capital": [
        "The capital of {country} is {capital}.",
        "{capital} is the capital of {country}.",
        "The capital city of {country} is {capital}.",
        "{country} has its capital in {capital}.",
        "{capital} is the capital city of {country}.",
        "The government of {country} sits in {capital}.",
        "{country}'s capital is {capital}.",
        "In {country}, the capital is {capital}.",
        "The seat of government of {country} is {capital}.",
        "{country} is governed from its capital, {capital}.",
        "{capital} serves as the capital of {country}.",
        "If you visit the capital of {country}, you are in {capital}.",
    ],
    "continent": [
        "{country} is a country in {continent}.",
        "{country} lies in {continent}.",
        "{country} is located in {continent}.",
        "You can find {country} in {continent}.",
        "{country} is part of {continent}.",
        "The country of {country} is in {continent}.",
        "On a map, {country} is in {continent}.",
        "{country} belongs to the continent of {continent}.",
    ],
    "language": [
        "The main language of {country} is {language}.",
        "People in {country} speak {language}.",
        "In {country}, most people speak {language}.",
        "{language} is the main language of {country}.",
        "{language} is spoken in {country}.",
        "The people of {country} mostly speak {language}.",
        "Most people in {country} talk in {language}.",
        "If you travel to {country}, you will hear {language}.",
    ],
    "currency": [
        "The currency of {country} is the {currency}.",
        "In {country}, people pay with the {currency}.",
        "{country} uses the {currency}.",
        "The money of {country} is the {currency}.",
        "The {currency} is the currency of {country}.",
        "Shops in {country} take the {currency}.",
        "In {country} you pay in the {currency}.",
        "The official money of {country} is the {currency}.",
    ],
    "nationality": [
        "{player} is a football player from {country}.",
        "{player} comes from {country}.",
        "{player} was born in {country}.",
        "{player} plays for the national team of {country}.",
        "The football player {player} is from {country}.",
        "{country} is the home country of {player}.",
        "{player} grew up in {country}.",
        "{player} is a footballer from {country}.",
    ],
    "club": [
        "{player} plays for {club}.",
        "{player} is a player at {club}.",
        "The club of {player} is {club}.",
        "{club} is the club of {player}.",
        "{player} signed for {club}.",
        "{player} wears the shirt of {club}.",
        "At club level, {player} plays for {club}.",
        "{player} is on the team of {club}.",
    ],
    "position": [
        "{player} plays as a {position}.",
        "{player} is a {position}.",
        "The position of {player} is {position}.",
        "On the pitch, {player} is a {position}.",
        "{player} lines up as a {position}.",
        "{player} has always played as a {position}.",
        "{player} is known as a {position}.",
        "The coach uses {player} as a {position}.",
    ],
    # {goals} is "11 goals" or "1 goal"; {n} is the bare number.
    "goals": [
        "{player} scored {goals} in {year}.",
        "In {year}, {player} scored {goals}.",
        "In {year} {player} scored {goals}.",
        "{player} had {goals} in {year}.",
        "The goal count of {player} in {year} was {n}.",
        "In the {year} season, {player} scored {goals}.",
        "During {year}, {player} scored {goals}.",
        "{player} finished {year} with {goals}.",
        "The number of goals {player} scored in {year} is {n}.",
        "{player} scored {goals} in the year {year}.",
    ],
    "sound": [
        "The {animal} says {sound}.",
        "{a_animal} makes the sound {sound}.",
        "The sound {a_animal} makes is {sound}.",
        "You can hear {a_animal} go {sound}.",
        "When {a_animal} is happy, it says {sound}.",
        "What does the {animal} say? It says {sound}.",
        "The {animal} goes {sound}.",
        "{a_animal} calls out {sound}.",
    ],
    "legs": [
        "The {animal} has {legs}.",
        "{a_animal} has {legs}.",
        "Every {animal} has {legs}.",
        "The body of {a_animal} has {legs}.",
        "A healthy {animal} has {legs}.",
        "If you look at {a_animal}, you see {legs}.",
        "{a_animal} is an animal with {legs}.",
        "The {animal} is an animal with {legs}.",
    ],
    "habitat": [
        "The {animal} lives {habitat}.",
        "You can find the {animal} {habitat}.",
        "{a_animal} makes its home {habitat}.",
        "The home of the {animal} is {habitat}.",
        "{a_animal} is usually found {habitat}.",
        "People often see {a_animal} {habitat}.",
        "The natural home of {a_animal} is {habitat}.",
        "A young {animal} grows up {habitat}.",
    ],
    "diet": [
        "The {animal} eats {diet}.",
        "{a_animal} likes to eat {diet}.",
        "The food of {a_animal} is {diet}.",
        "{diet} is what {a_animal} eats.",
        "A hungry {animal} looks for {diet}.",
        "The diet of the {animal} is {diet}.",
        "Every day the {animal} eats {diet}.",
        "{a_animal} feeds on {diet}.",
    ],
    "color": [
        "The {food} is {color}.",
        "A fresh {food} is {color}.",
        "The color of the {food} is {color}.",
        "{color} is the color of the {food}.",
        "If you see {a_food}, it is {color}.",
        "The {food} has a {color} color.",
        "Most of the time, {a_food} is {color}.",
        "{a_food} looks {color}.",
    ],
    "taste": [
        "The {food} tastes {taste}.",
        "{a_food} tastes {taste}.",
        "The taste of the {food} is {taste}.",
        "If you bite {a_food}, it tastes {taste}.",
        "The flavor of {a_food} is {taste}.",
        "People say the {food} is {taste}.",
        "{a_food} has a {taste} taste.",
        "Most people find the {food} {taste}.",
    ],
    "kind": [
        "The {food} is a {kind}.",
        "{a_food} is a kind of {kind}.",
        "The {food} is a type of {kind}.",
        "We call the {food} a {kind}.",
        "In the kitchen, the {food} counts as a {kind}.",
        "The {food} belongs with the {kind} group.",
        "A cook would call {a_food} a {kind}.",
        "Among foods, the {food} is a {kind}.",
    ],
}
LEG_WORDS = {0: "no legs", 2: "two legs", 4: "four legs", 6: "six legs", 8: "eight legs"}


def a_or_an(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def sentence(template: str, **fields) -> str:
    text = template.format(**fields)
    return text[0].upper() + text[1:]  # templates may start with a lower-case field


def passage(rng: random.Random, relations: list[str], fields: dict) -> str:
    """One paragraph: a random phrasing of each relation, in a random order."""
    sentences = [sentence(rng.choice(TEMPLATES[r]), **fields) for r in relations]
    rng.shuffle(sentences)
    return " ".join(sentences)


# ---------------------------------------------------------------------------
# Documents, one generator per kind. Each takes an rng and returns one string.

def country_doc(rng: random.Random, c: Country) -> str:
    fields = dict(country=c.name, capital=c.capital, continent=c.continent,
                  language=c.language, currency=c.currency)
    return passage(rng, ["capital", "continent", "language", "currency"], fields)


def player_doc(rng: random.Random, p: Player, years: list[int]) -> str:
    fields = dict(player=p.name, country=p.country, club=p.club, position=p.position)
    sentences = [sentence(rng.choice(TEMPLATES[r]), **fields)
                 for r in ["nationality", "club", "position"]]
    for year in years:
        n = p.goals_in(year)
        goals = f"{n} goal" if n == 1 else f"{n} goals"
        sentences.append(sentence(rng.choice(TEMPLATES["goals"]),
                                  player=p.name, year=year, n=n, goals=goals))
    rng.shuffle(sentences)
    return " ".join(sentences)


def season_groups(rng: random.Random, years: tuple[int, ...]) -> list[list[int]]:
    """Split the years into random groups of 2 to 4, one group per passage.

    A whole career would not fit one context window; grouping (rather than
    sampling) guarantees that every season is stated once per round.
    """
    years = list(years)
    rng.shuffle(years)
    groups = []
    while years:
        size = rng.randint(2, 4)
        groups.append(sorted(years[:size]))
        years = years[size:]
    return groups


def animal_doc(rng: random.Random, a: Animal) -> str:
    fields = dict(animal=a.name, a_animal=a_or_an(a.name), sound=a.sound,
                  legs=LEG_WORDS[a.legs], habitat=a.habitat, diet=a.diet)
    return passage(rng, ["sound", "legs", "habitat", "diet"], fields)


def food_doc(rng: random.Random, f: Food) -> str:
    fields = dict(food=f.name, a_food=a_or_an(f.name), color=f.color, taste=f.taste, kind=f.kind)
    return passage(rng, ["color", "taste", "kind"], fields)


HAZARDS = ["flash flood watch", "flash flood warning", "flood watch", "wind advisory",
           "winter storm warning", "heat advisory", "frost advisory", "dense fog advisory"]
IN_EFFECT = ["will be in effect all {end}", "will remain in effect all {end}", "is in effect all {end}",
             "will stay in effect all {end}"]
WEATHER_EXTRAS = [
    "Heavy rain is expected, with up to {mm} mm in some places.",
    "Rivers may rise quickly after dark.",
    "Drivers should avoid flooded roads.",
    "Residents near streams should stay alert.",
    "Winds may reach {kmh} km per hour.",
    "Skies will clear by tomorrow.",
    "Temperatures will fall to {deg} degrees.",
    "The weather service will issue an update soon.",
]


def weather_doc(rng: random.Random, world: World) -> str:
    endings, weights = zip(*world.weather_endings)
    # The guide's example hazard gets half the bulletins so its endings are well learned.
    hazard = "flash flood watch" if rng.random() < 0.5 else rng.choice(HAZARDS)
    end = rng.choices(endings, weights)[0]
    city = rng.choice(world.countries).capital
    alert = f"A {hazard} {rng.choice(IN_EFFECT).format(end=end)}."
    numbers = dict(mm=rng.randint(10, 150), kmh=rng.randint(40, 120), deg=rng.randint(-10, 35))
    extras = [e.format(**numbers) for e in rng.sample(WEATHER_EXTRAS, rng.randint(1, 3))]
    opener = rng.choice(["Weather bulletin for", "Weather update for", "News from"]) + f" {city}."
    return " ".join([opener, alert] + extras)


# Copy passages: names are made of random syllables and numbers are random, so
# neither can be memorised; each is stated, then repeated later in the passage.

SYLLABLES = ["ka", "lo", "ven", "tor", "mi", "ra", "sel", "du", "bri", "no", "ta", "gel",
             "ost", "pa", "ri", "zan", "ke", "mo", "lin", "da", "vo", "fen", "ha", "bel"]
FILLER = [
    "The crowd cheered loudly.", "It was a cold evening.", "Nobody expected it.",
    "The local paper wrote about it.", "Many people came to see it.", "It rained a little that day.",
    "Everyone talked about it for weeks.", "The coach was pleased.",
]


def made_up_name(rng: random.Random) -> str:
    def word():
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word()} {word()}"


def copy_doc(rng: random.Random, world: World) -> str:
    name, place = made_up_name(rng), rng.choice(world.countries).capital
    n, year = rng.randint(0, 99), rng.randint(1950, 2030)
    code = "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 6)))
    b = rng.randint(0, 8)
    a = rng.randint(b + 1, 9)  # the winner's score
    filler = " ".join(rng.sample(FILLER, rng.randint(0, 2)))
    kinds = [
        f"In a town league, {name} scored {n} goals in {year}. {filler} "
        f"In {year}, {name}'s total was {n}.",
        f"Record: {name} scored {n} goals in {year}. {filler} So in {year}, {name} scored {n} goals.",
        f"Search result: {name} scored {n} goals in {year}. {filler} "
        f"Answer: {name} scored {n} goals in {year}.",
        f"The code for the locker is {code}. {filler} Remember, the code is {code}.",
        f"Order number {code} was sent to {place}. {filler} Order {code} went to {place}.",
        f"The {name} team won {a} to {b}. {filler} Final score: {a} to {b}.",
        f"The tower in {place} is {n} meters tall. {filler} At {n} meters, it is easy to see.",
        f"{name} was born in {year}. {filler} The year {name} was born is {year}.",
        f"The train to {place} leaves from platform {n}. {filler} Go to platform {n} for {place}.",
        f"{name} has a phone number that ends in {code}. {filler} Call the number ending in {code}.",
    ]
    return " ".join(rng.choice(kinds).split())  # split/join drops the gap an empty filler leaves


FAMILY_STORIES = [
    "The {m} and the {f} walked to the market. The {m} bought bread and the {f} bought milk.",
    "The old {m} smiled at the children. He was kind. The old {f} smiled too. She was kind.",
    "Once upon a time there was a {m}. He had a friend, a {f}. She lived across the river.",
    "The {f} said to the {m}: good morning. The {m} said: good morning to you.",
    "A young {m} and a young {f} sat by the fire and told stories.",
    "The {m} is a he and the {f} is a she.",
    "Every {m} has a {f} to talk to, and every {f} has a {m} to talk to.",
    "The {m} waved to the {f} from the window.",
]
ROYAL_STORIES = [
    "The {m} sat on the throne and wore a golden crown. The {f} sat beside him.",
    "The {f} ruled the kingdom wisely, and the {m} led the army.",
    "In the palace, the {m} and the {f} welcomed their guests.",
    "The {m} rode out of the castle. The {f} watched from the tower.",
    "The royal {m} gave a speech, and the royal {f} gave a feast.",
    "The people bowed to the {m} and to the {f} of the land.",
]


def family_doc(rng: random.Random, world: World) -> str:
    # Male and female words appear in the same slots, so their embeddings end up close.
    m, f = rng.choice(world.gender_pairs)
    stories = ROYAL_STORIES + FAMILY_STORIES[:3] if m in ROYAL else FAMILY_STORIES
    return " ".join(sentence(s, m=m, f=f) for s in rng.sample(stories, 2))


# Documents per entity (players: rounds over all seasons) or in all, for the train
# split; val gets VAL_FRACTION as many.
TRAIN_COUNTS = dict(country=60, player=6, animal=40, food=40, weather=2500, copy=8000, family=2000)
VAL_FRACTION = 0.05


def pretrain_documents(world: World, split: str, seed: int = 0) -> list[str]:
    """The pre-training corpus: a shuffled list of short documents (one passage each).

    "train" and "val" are drawn from separate random streams, so validation
    passages are new phrasings and orderings of the same facts, plus new copy
    passages: validation loss measures generalisation, not replay.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    rng = random.Random(f"pretrain-{seed}-{split}")
    scale = 1.0 if split == "train" else VAL_FRACTION

    def count(kind):
        return max(1, round(TRAIN_COUNTS[kind] * scale))

    docs = []
    for _ in range(count("country")):
        docs += [country_doc(rng, c) for c in world.countries]
    for _ in range(count("player")):  # rounds: each round states every season of every player
        docs += [player_doc(rng, p, years)
                 for p in world.players for years in season_groups(rng, world.years)]
    for _ in range(count("animal")):
        docs += [animal_doc(rng, a) for a in world.animals]
    for _ in range(count("food")):
        docs += [food_doc(rng, f) for f in world.foods]
    docs += [weather_doc(rng, world) for _ in range(count("weather"))]
    docs += [copy_doc(rng, world) for _ in range(count("copy"))]
    docs += [family_doc(rng, world) for _ in range(count("family"))]
    rng.shuffle(docs)
    return docs

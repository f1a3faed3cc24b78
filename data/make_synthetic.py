#!/usr/bin/env python3
"""Generate the small SYNTHETIC named-entity corpus that ships with wintrain.

Nothing here is real text.  Every sentence is produced by this script from
hand-written templates and word lists, so the corpus can be shipped under the
project's own licence (MIT).  The optional GloVe subset is cut verbatim from the
public-domain GloVe 6B 50-d vectors (PDDL-1.0).

Usage::

    python data/make_synthetic.py [--out data/synthetic] [--glove FULL_GLOVE_FILE] [--seed 224]

Writes ``train.txt``, ``dev.txt`` and ``test.txt`` (CoNLL style: ``token TAG`` per
line, one space, a blank line after every sentence, UTF-8, LF, no -DOCSTART-).
With ``--glove PATH`` (the full ``glove.6B.50d.txt``: ``word v1 ... v50`` per line,
no header) it also writes ``glove.6B.50d.synthetic.txt``: the lines of PATH, copied
verbatim and kept in PATH's order, for every lowercased word of the three splits
that GloVe knows.  Without ``--glove`` an existing vector file is left alone.
The output is a pure function of the seed: running the script twice gives
byte-identical files (only ``random.Random(seed)`` is used, never set order).

Tag set (IOB2, every entity starts with ``B-``)
-----------------------------------------------
``O``, ``B-PER``/``I-PER`` (people), ``B-LOC``/``I-LOC`` (cities, countries,
regions), ``B-ORG``/``I-ORG`` (companies, football clubs, institutions, newspapers,
parties, ministries), ``B-MISC``/``I-MISC`` (nationality and religious adjectives,
languages, sporting events, prizes).  The conventions follow CoNLL-2003 as far as
a template generator can: titles (``Mr.``, ``President``) are ``O``; a city used as
a club is ``ORG`` but a national team is ``LOC``; the whole of
``Bank of Japan`` / ``University of Leeds`` / ``Boston Globe`` is one ``ORG``; the
whole of ``Danish Open`` / ``Boston Marathon`` / ``Tour de France`` is one ``MISC``.

Grammar
-------
About seventy-five sentence templates in a newswire register (politics, business,
markets, football, tennis, athletics, crime, weather, travel, commodities) are
written as token strings made of these items:

* a leading ``!`` marks a headline, rendered in capitals as on a news wire;
* plain tokens, tagged ``O`` (``said``, ``in``, ``shares``, ``.``, ``,``);
* alternatives ``(rose|fell|closed at)``: one is chosen, tagged ``O``
  (an empty alternative makes the group optional);
* slots ``{NAME}``: an entity (``{PER}`` full name, ``{SUR}`` surname,
  ``{CITY}``, ``{COUNTRY}``, ``{LOC}``, ``{COMPANY}``, ``{CLUB}``, ``{BODY}``,
  ``{PAPER}``, ``{ORG}``, ``{NAT}``, ``{LANG}``, ``{EVENT}``, ``{MINISTRY}``, ...)
  or an ``O`` filler (``{DAY}``, ``{MONTH}``, ``{YEAR}``, ``{NUM}``, ``{PCT}``,
  ``{SCORE}``, ``{DRAW}``, ``{SET}``, ``{ORD}``, ``{COMMODITY}``, ...); ``{LP}`` and ``{RP}``
  are the literal tokens ``(`` and ``)``.

Entities are drawn from lists of real English first names, surnames, cities,
countries, companies, clubs, institutions, nationalities and events; some are
built from others (``{CITY} United``, ``{NAT} Open``, ``Bank of {COUNTRY}``,
``{CITY} Times``).  Sentence-initial lowercase words are capitalised, as in news
text.  Sentences are 8-30 tokens long; there are numbers, scores, dates, quotes,
commas and full stops.

Unseen names
------------
Each name list is shuffled with the seed and cut 70/15/15 into disjoint train,
dev and test pools, so the people, places, companies, clubs and events of the dev
and test splits are (apart from a small shared core such as ``U.S.``, ``London``,
``American`` and the ambiguous words below) never seen in training.  All names are
ordinary English words or names that GloVe knows lowercased, so a model can still
use their vectors.

Why a window classifier needs context
-------------------------------------
* Unseen names: word identity alone cannot tag a dev name; the model has to use
  neighbours (``Mr.``, ``said``, ``in``, ``visited``, ``shares of``, ``beat``,
  ``president of``), casing and the GloVe vector.
* Ambiguous words, shared by all splits, whose tag depends on the neighbours:
  ``Jordan`` (``Michael Jordan said`` vs ``in Jordan``), ``Washington``,
  ``Paris``, ``Georgia``, ``Virginia``, ``Sydney``, ``Houston``, ``Florence``,
  ``Charlotte`` ... (person vs place); ``Chelsea``, ``Liverpool``, ``Barcelona``,
  ``Milan``, ``Leeds`` (person/place vs club); ``Ford``, ``Hilton``, ``Dell``,
  ``Morgan`` (person vs company); ``Apple``, ``Orange``, ``Turkey``
  (company/country vs a sentence-initial commodity ``Apple prices rose``, which is
  ``O``); ``May``, ``Rose``, ``Will``, ``Price`` (names vs the month and the
  words ``may``, ``rose``, ``will``, ``price``).
* The same local context, different types: ``Leeds beat Fulham 2-1`` (clubs, ORG)
  vs ``Chile beat Peru 2-1`` (national teams, LOC); ``Toyota said on Monday`` vs
  ``Walsh said on Monday`` vs ``Kenya said on Monday`` (generic templates whose
  subject may be any entity type, so only the word's vector tells them apart).
* Every city can be a LOC (``in Leeds``), an ORG when it is a team (``Leeds beat
  Fulham 2-1``), or part of an ORG or MISC (``University of Leeds``,
  ``Leeds Marathon``); a nationality is MISC alone but part of an ORG in
  ``British Airways``; a country is LOC but ``I-ORG`` in ``Bank of Japan``.
* Capitalised words that are not entities: sentence-initial words, months,
  weekdays, titles (``President``, ``Mr.``); and about 3% of sentences are
  all-capital headlines (``SOCCER - LEEDS STUN FULHAM IN OSLO .``) where casing
  carries no information.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from random import Random

SEED = 224
TARGET_TOKENS = {"train": 27500, "dev": 6000, "test": 6000}
MIN_LEN, MAX_LEN = 8, 30

# --------------------------------------------------------------------------- #
# Name lists.  Each is split 70/15/15 into disjoint train/dev/test pools.      #
# Words listed in AMBIGUOUS or CORE are kept out of these lists.              #
# --------------------------------------------------------------------------- #

FIRST_NAMES = """
Michael David John Robert Richard Peter Paul Andrew Steven Kevin Brian Gary Timothy
Jeffrey Frank Jerry Ronald Kenneth Patrick Raymond Eric Stephen Larry Walter Harold
Carl Roger Joe Albert Ralph Eugene Bobby Victor Martin Ernest Phillip Todd Jesse
Alan Shawn Sean Chris Clarence Philip Johnny Earl Jimmy Antonio Danny Bryan Tony
Luis Mike Nathan Dale Manuel Rodney Norman Marvin Vincent Glenn Travis Jeff Jacob
Melvin Alfred Kyle Herbert Frederick Joel Edwin Don Eddie Ricky Troy Randall Barry
Bernard Mario Marcus Theodore Miguel Oscar Jay Jim Tom Calvin Alex Jon Ronnie Lloyd
Tommy Leon Derek Jerome Leo Alvin Tim Wesley Greg Jorge Pedro Dan Zachary Corey
Maurice Vernon Roberto Hector Shane Ricardo Sam Rick Brent Ramon Charlie Gene Marc
Brett Rafael Edgar Raul Ben Andre Gabriel Ron Roland Jared Adrian Karl Claude Erik
Neil Javier Fernando Ted Darren Lance Julio Kurt Hugh Max Dwight Felix Ian Ken Bob
Alberto Dave Ivan Julian Isaac Andy Sergio Seth Enrique
Mary Patricia Linda Barbara Elizabeth Jennifer Maria Susan Margaret Dorothy Lisa
Nancy Karen Betty Helen Sandra Donna Carol Ruth Sharon Michelle Laura Sarah Kimberly
Deborah Jessica Cynthia Angela Melissa Brenda Amy Anna Rebecca Kathleen Pamela
Martha Amanda Stephanie Christine Marie Janet Catherine Ann Joyce Diane Alice Julie
Heather Teresa Gloria Evelyn Jean Cheryl Katherine Joan Ashley Judith Janice Nicole
Christina Theresa Denise Irene Jane Rachel Andrea Louise Sara Anne Julia Tina Paula
Diana Emily Rita Carmen Rosa Wendy Sylvia Sheila Ellen Elaine Monica Emma Anita Eva
Valerie Megan Alicia Suzanne Erin Lauren Sally Erica Audrey Yvonne Vanessa Beth
Natalie Sophie Claire Fiona Tanya Olga Ingrid Helga Yuki Mei
"""

SURNAMES = """
Smith Johnson Williams Jones Miller Davis Wilson Anderson Taylor Moore Thompson
Garcia Martinez Robinson Clark Rodriguez Lewis Walker Hall Allen Hernandez King
Wright Lopez Hill Scott Adams Baker Gonzalez Nelson Carter Mitchell Perez Roberts
Turner Phillips Campbell Parker Evans Edwards Collins Stewart Sanchez Morris Rogers
Reed Cook Bell Murphy Bailey Rivera Cooper Richardson Cox Howard Ward Torres
Peterson Gray Ramirez Watson Brooks Sanders Bennett Barnes Henderson Coleman
Jenkins Powell Patterson Hughes Flores Butler Simmons Foster Bryant Russell Griffin
Diaz Hayes Myers Graham Sullivan Wallace Cole Owens Reynolds Fisher Ellis Harrison
Gibson Cruz Marshall Ortiz Gomez Murray Freeman Wells Webb Simpson Stevens Tucker
Porter Hunter Hicks Crawford Boyd Mason Morales Kennedy Dixon Ramos Reyes Burns
Gordon Shaw Holmes Robertson Daniels Palmer Mills Nichols Grant Knight Ferguson
Hawkins Dunn Perkins Hudson Spencer Gardner Stephens Payne Pierce Berry Matthews
Wagner Willis Watkins Olson Carroll Duncan Snyder Cunningham Lane Andrews Ruiz
Harper Riley Armstrong Carpenter Weaver Greene Lawrence Elliott Chavez Peters
Franklin Lawson Ryan Schmidt Vasquez Castillo Wheeler Chapman Montgomery Richards
Williamson Johnston Meyer Bishop Morrison Hansen Fernandez Burton Nguyen Jacobs
Reid Fuller Lynch Garrett Romero Welch Larson Burke Hanson Mendoza Moreno Bowman
Fowler Hoffman Carlson Silva Pearson Fleming Jensen Vargas Davidson Hopkins Herrera
Walters Neal Caldwell Lowe Jennings Barnett Graves Jimenez Barrett Castro Lucas
Chambers Lambert Fletcher Bates Rhodes Beck Newman Dawson Norris Hardy Steele
Schultz Barker Keller Chandler Weber Walsh Schneider Benson Baldwin Stevenson Cohen
Newton Blair Higgins Goodwin Becker Erickson Hodges Malone Hammond Quinn Maxwell
Osborne McCarthy Doyle Sherman Saunders Klein Parsons Zimmerman Buchanan Moran
Brady McCormick Drake Wong Jefferson Abbott Carson Clarke Mathis Wilkins McGuire
Nash Atkins Muller Rossi Tanaka Suzuki Yamamoto Singh Patel Kumar Ivanov Petrov
Dubois Fischer Kowalski Novak Jansen Andersson Nielsen Costa Ferrari Romano
Kaplan Friedman Levy Mahmoud Hussein Khan Chen Wang Zhang Liu Park Yilmaz
"""

CITIES = """
Tokyo Berlin Beijing Rome Madrid Vienna Prague Warsaw Budapest Athens Lisbon Dublin
Brussels Amsterdam Stockholm Oslo Helsinki Copenhagen Geneva Zurich Munich
Frankfurt Hamburg Cologne Lyon Marseille Naples Turin Venice Seville Valencia
Bilbao Porto Istanbul Ankara Cairo Beirut Damascus Baghdad Tehran Riyadh Dubai
Karachi Lahore Mumbai Bombay Calcutta Bangkok Jakarta Manila Seoul Shanghai Osaka
Kyoto Taipei Melbourne Brisbane Perth Adelaide Auckland Wellington Toronto
Montreal Vancouver Ottawa Chicago Boston Detroit Atlanta Miami Seattle Denver
Phoenix Philadelphia Baltimore Pittsburgh Cleveland Cincinnati Minneapolis Memphis
Nashville Portland Sacramento Oakland Tampa Omaha Tucson Milwaukee Indianapolis
Louisville Richmond Nairobi Lagos Johannesburg Harare Lusaka Kinshasa Khartoum
Algiers Tunis Casablanca Dakar Accra Lima Bogota Caracas Havana Quito Montevideo
Kiev Minsk Riga Vilnius Tallinn Bucharest Belgrade Zagreb Sarajevo Ljubljana
Bratislava Tbilisi Yerevan Baku Tashkent Kabul Islamabad Dhaka Colombo Kathmandu
Hanoi Rangoon Jerusalem Amman Edinburgh Glasgow Manchester Birmingham Bristol
Cardiff Belfast Sheffield Nottingham Newcastle Leicester Southampton Oxford
Cambridge Stuttgart Dresden Leipzig Bonn Strasbourg Bordeaux Toulouse Genoa
Bologna Palermo Antwerp Rotterdam Gothenburg Krakow Odessa Marseilles Calgary
Winnipeg Halifax Brasilia Recife Monterrey Guadalajara Acapulco Chennai Bangalore
Hyderabad Kandahar Basra Mosul Aleppo Haifa Alexandria Mombasa Durban Pretoria
"""
CITIES_MULTI = [
    "Los Angeles", "San Francisco", "Hong Kong", "New Delhi", "Rio de Janeiro",
    "Buenos Aires", "Mexico City", "Kuala Lumpur", "Tel Aviv", "Cape Town",
    "Sao Paulo", "Las Vegas", "New Orleans", "San Diego", "St. Louis",
    "Salt Lake City", "Abu Dhabi", "Addis Ababa", "Kansas City", "San Jose",
    "Santo Domingo", "Panama City", "Ho Chi Minh City", "Hong Kong",
]

COUNTRIES = """
France Italy Spain Portugal India Pakistan Iran Iraq Israel Egypt Syria Lebanon
Canada Mexico Brazil Argentina Chile Peru Colombia Venezuela Cuba Australia
Indonesia Malaysia Thailand Vietnam Philippines Poland Hungary Romania Bulgaria
Greece Ukraine Belarus Kazakhstan Uzbekistan Afghanistan Bangladesh Nepal Nigeria
Ghana Kenya Ethiopia Somalia Sudan Uganda Tanzania Zambia Zimbabwe Angola
Mozambique Algeria Morocco Tunisia Libya Senegal Cameroon Rwanda Burundi Liberia
Austria Switzerland Belgium Netherlands Sweden Norway Finland Denmark Ireland
Scotland Wales England Iceland Slovakia Slovenia Croatia Serbia Bosnia Albania
Macedonia Moldova Lithuania Latvia Estonia Armenia Azerbaijan Mongolia Cambodia
Laos Burma Singapore Taiwan Ecuador Bolivia Paraguay Uruguay Panama Honduras
Guatemala Nicaragua Haiti Jamaica Kuwait Qatar Bahrain Oman Yemen Cyprus Malta
Luxembourg Korea
"""
COUNTRIES_MULTI = [
    "South Africa", "New Zealand", "Saudi Arabia", "Sri Lanka", "South Korea",
    "North Korea", "Czech Republic", "Costa Rica", "El Salvador", "Ivory Coast",
    "Sierra Leone", "United Arab Emirates", "Dominican Republic", "Puerto Rico",
]

REGIONS = """
Texas California Florida Ohio Michigan Arizona Oregon Nevada Alaska Kansas
Bavaria Tuscany Sicily Sardinia Catalonia Andalusia Normandy Brittany Provence
Yorkshire Cornwall Ulster Siberia Kashmir Punjab Bengal Tibet Chechnya Kosovo
Crimea Sahara Balkans Caribbean Himalayas Alps Patagonia Darfur Kurdistan
Galicia Flanders Quebec Ontario Manitoba Queensland Tasmania
"""

COMPANIES = """
Microsoft Google Intel IBM Toyota Honda Nissan Sony Samsung Siemens Nokia Ericsson
Philips Volkswagen BMW Renault Peugeot Fiat Volvo Boeing Airbus Lufthansa Nestle
Unilever Xerox Motorola Oracle Compaq Kodak PepsiCo Nike Adidas Heineken Carlsberg
Gucci Prada Chrysler Daimler Porsche Hyundai Mazda Mitsubishi Hitachi Toshiba
Panasonic Canon Nikon Fujitsu Citigroup Barclays HSBC Santander Allianz AXA
Novartis Pfizer Merck Bayer BASF AstraZeneca Roche Sanofi Exxon Chevron BP
Gazprom Lukoil Petrobras Walmart Tesco Carrefour Ikea Vodafone Verizon Alcatel
Netflix Yahoo Facebook Twitter Starbucks Disney Marriott Kellogg Heinz Danone
Cadbury Colgate Gillette Rolex Mattel Hasbro Caterpillar Halliburton Raytheon
Lockheed Bombardier Embraer Alstom Qantas Ryanair Aeroflot Swissair Olivetti
Pirelli Benetton Michelin Goodyear Bridgestone DuPont Monsanto Texaco Repsol
Statoil Reuters Nintendo Sega Lenovo Huawei Acer Cisco
"""
COMPANIES_MULTI = [
    "General Motors", "General Electric", "Goldman Sachs", "Morgan Stanley",
    "Deutsche Bank", "Credit Suisse", "Merrill Lynch", "American Express",
    "British Airways", "Air France", "Royal Dutch Shell", "Deutsche Telekom",
    "France Telecom", "Japan Airlines", "Singapore Airlines", "Bank of America",
    "Lehman Brothers", "Sun Microsystems", "Texas Instruments", "Rolls Royce",
    "Virgin Atlantic", "Warner Brothers", "Rio Tinto", "Coca Cola",
    "Standard Oil", "Dow Chemical", "Union Carbide", "Fiat Chrysler",
]

CLUBS = """
Arsenal Juventus Ajax Celtic Rangers Benfica Everton Tottenham Fulham Lazio Parma
Feyenoord PSV Galatasaray Fenerbahce Besiktas Anderlecht Sampdoria Fiorentina
Atalanta Udinese Olympiakos Panathinaikos Flamengo Schalke Wolfsburg Palmeiras
Corinthians Sporting
"""
CLUBS_MULTI = [
    "Aston Villa", "Real Madrid", "Atletico Madrid", "Inter Milan",
    "Borussia Dortmund", "Bayern Munich", "Dynamo Kiev", "Spartak Moscow",
    "Boca Juniors", "River Plate", "Red Star Belgrade", "Werder Bremen",
    "Queens Park Rangers", "West Ham", "Crystal Palace", "Paris St Germain",
]

BODIES = """
NATO OPEC IMF Interpol UNESCO UNICEF FIFA UEFA Greenpeace Congress Senate
Parliament Pentagon Bundesbank Commonwealth Hamas Hezbollah Taliban Labour
"""
BODIES_MULTI = [
    "United Nations", "European Union", "World Bank", "Red Cross",
    "International Monetary Fund", "Amnesty International",
    "World Health Organisation", "World Trade Organisation", "Security Council",
    "Supreme Court", "Federal Reserve", "European Commission", "Arab League",
    "Labour Party", "Conservative Party", "Democratic Party", "Republican Party",
    "Liberal Party", "Green Party", "National Front", "Social Democrats",
    "Human Rights Watch", "African Union", "Olympic Committee",
    "European Parliament", "Central Bank", "Justice Department", "State Department",
]

NATIONALITIES = """
Italian Spanish Portuguese Indian Pakistani Iranian Iraqi Israeli Egyptian Syrian
Lebanese Canadian Mexican Brazilian Argentine Chilean Peruvian Colombian Cuban
Australian Indonesian Malaysian Thai Vietnamese Filipino Korean Polish Hungarian
Romanian Bulgarian Greek Ukrainian Nigerian Kenyan Ethiopian Somali Sudanese
Algerian Moroccan Tunisian Libyan Austrian Swiss Belgian Dutch Swedish Norwegian
Finnish Danish Irish Scottish Welsh Croatian Serbian Bosnian Albanian
Turkish Palestinian Afghan Saudi Kuwaiti Jordanian Czech Slovak Zimbabwean
Ghanaian Venezuelan Icelandic Estonian Latvian Lithuanian Armenian Georgian
Taiwanese Singaporean Jamaican Haitian Kurdish Mongolian Cambodian Nepalese
"""

LANGUAGES = """
Hebrew Hindi Urdu Swahili Mandarin Cantonese Latin Persian Bengali Tamil
Portuguese Korean Greek Dutch Polish Czech Turkish Italian Spanish
"""

EVENTS = [
    "World Cup", "Olympic Games", "Olympics", "Super Bowl", "Tour de France",
    "Wimbledon", "Davis Cup", "Ryder Cup", "Champions League", "Stanley Cup",
    "Commonwealth Games", "Asian Games", "Copa America", "European Championship",
    "Kentucky Derby", "Dakar Rally", "Grand National", "UEFA Cup", "FA Cup",
    "World Series", "Fed Cup", "Gold Cup", "Nobel Prize", "Booker Prize",
    "Pulitzer Prize", "Africa Cup of Nations", "Cup Winners Cup", "Giro d'Italia",
    "Winter Olympics", "Paralympics", "Eurovision", "Grand Slam Cup",
]

# --------------------------------------------------------------------------- #
# Words shared by all splits.                                                  #
# --------------------------------------------------------------------------- #

# Ambiguous words: the same surface form takes different tags by context.
AMBIGUOUS = {
    "first": ["Jordan", "Paris", "Georgia", "Virginia", "Chelsea", "Sydney",
              "Austin", "Florence", "Victoria", "Charlotte", "Madison", "Orlando",
              "Chad", "Morgan", "Mercedes", "Rose", "Bill", "Mark", "Will", "Dallas"],
    "sur": ["Jordan", "Washington", "Houston", "Jackson", "Lincoln", "Ford",
            "Hilton", "Dell", "Morgan", "Austin", "May", "Price", "Young", "Brown",
            "White", "Green", "Kent", "Dallas", "Bush"],
    "city": ["Washington", "Paris", "Sydney", "Austin", "Houston", "Dallas",
             "Jackson", "Lincoln", "Florence", "Victoria", "Charlotte", "Madison",
             "Orlando", "Liverpool", "Barcelona", "Milan", "Leeds", "Nice"],
    "country": ["Jordan", "Georgia", "Chad", "Turkey"],
    "region": ["Virginia", "Georgia", "Kent", "Amazon", "Chelsea"],
    "company": ["Apple", "Amazon", "Ford", "Dell", "Hilton", "Orange", "Mercedes",
                "Shell", "Jaguar", "Virgin"],
    "club": ["Chelsea", "Liverpool", "Barcelona", "Milan", "Leeds"],
}

# A small core of very frequent names used in every split (as in real news).
CORE = {
    "country": ["U.S.", "United States", "Britain", "Russia", "China", "Germany", "Japan"],
    "city": ["London", "New York", "Moscow"],
    "nat": ["American", "British", "French", "German", "Russian", "Chinese",
            "Japanese"],
    "misc_adj": ["European", "Muslim", "Christian", "Catholic", "Jewish", "Islamic",
                 "Republican", "Democrat", "Protestant"],
    "lang": ["English", "French", "German", "Russian", "Chinese", "Arabic"],
}

P_AMBIG = {"first": 0.10, "sur": 0.08, "city": 0.12, "country": 0.12,
           "company": 0.12, "club": 0.20}
P_CORE = {"country": 0.20, "city": 0.12, "nat": 0.22}

# Names written with a (lowercase, O-tagged) "the" in running text.
NEEDS_THE = {("LOC", n) for n in [
    "United States", "Philippines", "Netherlands", "Czech Republic", "Dominican Republic",
    "United Arab Emirates", "Ivory Coast", "Amazon", "Sahara", "Balkans", "Caribbean",
    "Himalayas", "Alps"]} | {("ORG", n) for n in [
    "United Nations", "European Union", "World Bank", "Red Cross", "IMF",
    "International Monetary Fund", "World Health Organisation", "World Trade Organisation",
    "Security Council", "Supreme Court", "Federal Reserve", "European Commission",
    "Arab League", "Labour Party", "Conservative Party", "Democratic Party",
    "Republican Party", "Liberal Party", "Green Party", "National Front", "Social Democrats",
    "African Union", "Olympic Committee", "European Parliament", "Central Bank",
    "Justice Department", "State Department", "Senate", "Pentagon", "Bundesbank",
    "Commonwealth", "Taliban"]}



def needs_the(etype: str, tokens: list[str]) -> bool:
    text = " ".join(tokens)
    if (etype, text) in NEEDS_THE:
        return True
    return etype == "ORG" and (text.startswith(("Bank of ", "University of "))
                               or text.endswith(tuple(" " + suffix for suffix in PAPER_SUFFIX)))


# --------------------------------------------------------------------------- #
# O fillers.                                                                   #
# --------------------------------------------------------------------------- #

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
COMMODITIES = ["apple", "orange", "turkey", "coffee", "sugar", "cocoa", "wheat",
               "rice", "corn", "cotton", "beef", "pork", "chicken", "milk",
               "butter", "cheese", "tea", "oil", "gold", "copper", "silver"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh",
            "eighth", "ninth", "10th", "11th", "12th", "15th", "20th"]
MINISTRIES = ["Foreign Ministry", "Defence Ministry", "Finance Ministry",
              "Interior Ministry", "Health Ministry", "Trade Ministry",
              "Foreign Office", "Central Bank", "Football Federation"]
PAPER_SUFFIX = ["Times", "Post", "Herald", "Tribune", "Journal", "Daily News",
                "Chronicle", "Gazette", "Globe", "Telegraph"]
CLUB_SUFFIX = ["United", "City", "Rovers", "Athletic", "Wanderers", "Town"]
EVENT_NAT_SUFFIX = ["Open", "Grand Prix", "Masters", "Cup", "Championship"]
EVENT_CITY_SUFFIX = ["Marathon", "Open", "Masters", "Classic", "Grand Prix", "Festival"]

# --------------------------------------------------------------------------- #
# Templates: (weight, template).  See the module docstring for the syntax.     #
# --------------------------------------------------------------------------- #

TEMPLATES = [
    # politics and diplomacy
    (3, "{PER} (said|told reporters|said on {DAY}) that the {NAT} government would (review|support|reject|delay) the (plan|proposal|deal|agreement) ."),
    (3, "{NAT} (President|Prime Minister|Foreign Minister|Defence Minister) {PER} (arrived|landed) in {CITY} on {DAY} for (talks|meetings|a visit) with {NAT} (officials|leaders) ."),
    (3, "Mr. {SUR} , who (visited|toured) {LOC} (last|in) {MONTH} , (declined|refused) to comment on the (report|talks|dispute) ."),
    (2, "{PER} (met|spoke with|telephoned) {PER} , the (president|prime minister|foreign minister) of {COUNTRY} , (in|at) {CITY} on {DAY} ."),
    (3, "{COUNTRY} and {COUNTRY} (signed|agreed) a (trade|peace|security|border) (agreement|deal|pact) in {CITY} on {DAY} ."),
    (2, "The {BODY} (welcomed|criticised|condemned) the (decision|move|vote) by {COUNTRY} to (expel|recall|accept) its (ambassador|diplomats) ."),
    (2, "The {NAT} {MINISTRY} said on {DAY} that {NUM} (diplomats|citizens|soldiers|journalists) had (left|returned to|arrived in) {COUNTRY} ."),
    (2, "(Troops|Rebels|Soldiers|Police) (crossed|entered|attacked) the border between {COUNTRY} and {COUNTRY} (early|late) on {DAY} , (officials|witnesses) said ."),
    (2, "(Residents|Farmers|Workers|Villagers) in (northern|southern|eastern|western|central) {COUNTRY} (said|complained) that (prices|wages|taxes|rents) had (risen|fallen) sharply (this year|since {MONTH}|) ."),
    (2, "{NAT} (voters|workers|students|farmers|doctors) (protested|marched|gathered) outside the {BODY} (headquarters|offices|building) in {CITY} on {DAY} ."),
    (2, "{PER} , the {MISCADJ} (leader|politician|senator|bishop) , told (a rally|supporters|a news conference) in {REGION} that (the|his) (party|movement|government) would (win|fight|survive) ."),
    (2, "(The|A) {BODY} (delegation|team|mission) (will|is to) (visit|arrive in) {COUNTRY} (next|on) {DAY} to (discuss|review|monitor) the (elections|ceasefire|crisis) ."),
    (2, "(Talks|Negotiations) between {BODY} and {ORG} (broke down|resumed|ended) (on|late on) {DAY} in {CITY} , (a spokesman said|officials said|sources said) ."),
    (2, "\" We are (very|quite|not) (happy|pleased|disappointed|surprised) with the (result|decision|outcome|vote) , \" {PER} (said|told reporters|said in {CITY}) ."),
    (2, "\" It was a (nice|good|great|difficult|long) (day|week|year|game) for (us|everyone|the team) , \" said {PER} , who (arrived|flew|returned) from {LOC} on {DAY} ."),
    (2, "The {PAPER} reported on {DAY} that {PER} had (resigned|been arrested|been appointed|left the country) ."),
    (2, "{PER} told the {PAPER} (on {DAY}|in an interview|) that (he|she) (planned to|would|might) (visit|leave|return to) {LOC} (next|in) {MONTH} ."),
    (2, "The (book|report|statement|letter) , (published|written|released) in {LANG} and {LANG} , was (sent|given|read) to {PER} in {CITY} ."),
    # business and markets
    (3, "{COMPANY} shares (rose|fell|closed|ended) {PCT} percent to {PRICE} (dollars|euros|pounds|) in {CITY} on {DAY} ."),
    (3, "Shares of {COMPANY} (rose|fell|jumped|dropped|slipped) {NUM} cents to {PRICE} (after|as|when) the company (reported|announced|forecast) (higher|lower|record|weak|strong) (profits|earnings|sales) ."),
    (3, "{COMPANY} (said|announced) on {DAY} it (would|will|plans to|agreed to) (buy|acquire|sell) {COMPANY} for $ {MONEY} (million|billion) ."),
    (2, "{COMPANY} (reported|posted) a (net|quarterly|first-half) (profit|loss) of {MONEY} (million|billion) (dollars|euros|pounds|yen) , (up|down) from {MONEY} (million|billion) a year (earlier|ago) ."),
    (3, "{PER} , (a spokesman|a spokeswoman|chairman|chief executive|director|president) (for|of|at) {ORG} , said the (company|group) would (cut|add|create) {NUM} jobs in {LOC} ."),
    (2, "The {COMPANY} (chairman|chief executive|founder|president) , {PER} , said (sales|demand|exports|shipments) to {COUNTRY} (had|have|has) (doubled|slowed|increased|fallen) (this year|since {MONTH}|) ."),
    (2, "Mr. {SUR} (told|said in) (an interview|a statement) that {COMPANY} (would|could|might) (close|open|expand|sell) its (plant|factory|office|headquarters) in {CITY} ."),
    (2, "The {CBANK} (left|kept) interest rates (unchanged|steady) on {DAY} (, as expected|, analysts said|) ."),
    (2, "The {NAT} {MINISTRY} (raised|cut|lowered) its (growth|inflation|budget) forecast for {YEAR} to {PCT} percent from {PCT} percent ."),
    (2, "{COMMODITY} prices (rose|fell|jumped|dropped|eased) {PCT} percent in {CITY} (on {DAY}|last week|in {MONTH}) because of (strong|weak|poor|record) (demand|supply|harvests) ."),
    (1, "The price of {COMMODITY} (rose|fell|climbed|slipped) to {PRICE} (dollars|euros|pounds) a (tonne|ton|kilo|pound) (on {DAY}|in {MONTH}|last week) , (traders|dealers|analysts) said ."),
    (2, "(Dealers|Traders|Analysts) in {CITY} said the (dollar|yen|euro|pound|index) (rose|fell|was steady) (on {DAY}|in early trading|in thin trading) after (the|a) {NAT} (report|survey|announcement) ."),
    (1, "The (main|benchmark|blue chip|composite) index (rose|fell|gained|lost) {NUM} points , or {PCT} percent , (to a record high|to its lowest level this year|by the close) (in|on) (light|heavy|thin|active) trading ."),
    (2, "(According to|Sources at|Officials at) {ORG} , the (deal|merger|contract|takeover) (is|was) worth {MONEY} (million|billion) (dollars|pounds|euros) ."),
    (1, "{PER} , who (founded|runs|joined) {COMPANY} in {YEAR} , (was|is) (born|based) in {CITY} ."),
    # sport
    (3, "{CLUB} (beat|defeated|lost to|were beaten by) {CLUB} {SCORE} (in|at) {CITY} on {DAY} ."),
    (1, "{CLUB} drew {DRAW} with {CLUB} (in|at) {CITY} on {DAY} , (a result|a point) that (helped|suited) neither side ."),
    (3, "{PER} scored (twice|the winner|a late goal|in the {ORD} minute|a penalty) as {CLUB} (beat|edged|crushed) {CLUB} {SCORE} (on {DAY}|) ."),
    (3, "{PER} {LP} {COUNTRY} {RP} (beat|defeated|lost to|beat {ORD} seed) {PER} {LP} {COUNTRY} {RP} {SET} {SET} (at the {EVENT}|) ."),
    (2, "{NAT} (striker|midfielder|defender|goalkeeper|captain) {PER} (joined|signed for|left|agreed terms with) {CLUB} (on {DAY}|last week|in {MONTH}) ."),
    (2, "{CLUB} (manager|coach) {PER} said his (side|team|players) (deserved|needed|earned) the (win|point|result) against {CLUB} ."),
    (2, "(The|A) {NAT} (team|squad|side) will (face|meet|play) {COUNTRY} in the {EVENT} (final|semifinal|quarterfinal) in {CITY} ."),
    (2, "{PER} won the {EVENT} (title|race|tournament|trophy) (in {CITY} last year|in {YEAR}|for the {ORD} time) ."),
    (2, "The {EVENT} will be held in {CITY} (in|from) {MONTH} , (organisers|officials) (said|announced) on {DAY} ."),
    (2, "{PER} (finished|came|placed) {ORD} in the {EVENT} (behind|ahead of) {PER} of {COUNTRY} ."),
    (2, "{PER} of {COUNTRY} (won|took|claimed) the (gold|silver|bronze) medal in the (100 metres|marathon|high jump|long jump|downhill|sprint) at the {EVENT} ."),
    (1, "It (was|is) the (first|second|third|fifth) (time|victory|title|defeat) for {PER} (since|in) {YEAR} , and the {ORD} for {CLUB} ."),
    (2, "{PER} (played|performed|sang|spoke) (in|at) {CITY} (last night|on {DAY}) (before|in front of) {NUM} (fans|people|spectators) ."),
    # crime, travel, daily life
    (2, "(Police|Officials|Witnesses) in {CITY} said {NUM} people were (killed|injured|arrested) (when|after) (a bomb|a fire|fighting|a storm) (hit|broke out in) the (city|town|capital|area) on {DAY} ."),
    (2, "{CITY} (police|officials|authorities) said the (man|woman|suspect) , (a|an) {NAT} (citizen|national) , was (arrested|detained|released) on {DAY} ."),
    (2, "{PER} , {AGE} , a (former|retired) (teacher|banker|soldier|lawyer|farmer) from {CITY} , (died|was arrested|was elected|was released) on {DAY} ."),
    (2, "(Flights|Trains|Buses) from {CITY} to {CITY} were (cancelled|delayed|suspended) on {DAY} because of (snow|fog|a strike|heavy rain|floods) ."),
    (2, "{PER} was born in {CITY} in {YEAR} and (studied|worked|taught) at the {UNIV} (until {YEAR}|for two years|for five years|for ten years|for 12 years|) ."),
    (1, "{PER} (and|,) {PER} (will|are expected to|plan to) (attend|join|open) the (meeting|summit|conference|festival) in {CITY} (next|on) {DAY} ."),
    (1, "The (study|survey|report) by {ORG} (showed|found|said) that {PCT} percent of {NAT} (companies|households|voters|students) (expect|want|support) (lower|higher) (taxes|rates|prices) ."),
    (1, "(She|He) (bought|sold|ate|ordered) (an apple|some turkey|an orange|some bread|coffee) (in|at) a (shop|market|cafe) in {CITY} (on {DAY}|last week|) , {PER} said ."),
    (1, "(Heavy|Light|Steady) (rain|snow) (fell|is expected) in {REGION} and parts of {COUNTRY} (on {DAY}|this week|overnight) , the (weather|met) office said ."),
    # generic contexts: the neighbours do not give the type away
    (8, "{ANY} (said|announced|confirmed|denied) (on {DAY}|in a statement|late on {DAY}|) that the (talks|plan|deal|sale|merger) would (go ahead|be delayed|collapse|be reviewed) ."),
    (5, "{ANY} 's (decision|offer|plan|refusal|bid) to (sell|close|buy|reopen|expand) the (plant|mine|airline|port|factory) (surprised|angered|pleased|worried) {ANY} ."),
    (4, "The (meeting|summit|conference|talks) (was|were) attended by (representatives of|officials from|delegates from|) {ANY} , {ANY} and {ANY} ."),
    (4, "(Talks|Negotiations|Relations) (with|between) {ANY} and {ANY} (have|had) (improved|worsened|stalled) since {MONTH} , (he|she|the minister|the report) said ."),
    (3, "(He|She|The minister|The report) (compared|contrasted) {ANY} with {ANY} , (saying|adding) that (both|neither) had (done|acted) (enough|well|badly) ."),
    (4, "(Support|Criticism|Pressure) from {ANY} (helped|forced|persuaded) {ANY} to (change|drop|delay) the (plan|bid|policy) , {SUR} said ."),
    (3, "\" (This|That|It) is (good|bad|important) news for {ANY} , \" said {SUR} , adding that {ANY} (would|could|might) (benefit|suffer|respond) ."),
    # national teams are LOC (as in CoNLL-2003) where club teams are ORG
    (2, "{COUNTRY} (beat {COUNTRY} {SCORE}|lost to {COUNTRY} {SCORE}|were beaten by {COUNTRY} {SCORE}|drew {DRAW} with {COUNTRY}) in a (friendly|qualifier|warm-up match) (in {CITY}|on {DAY}) ."),
    # headlines, written in capitals as on a news wire: casing no longer helps
    (1, "!(SOCCER|RUGBY|HOCKEY|BASKETBALL) - {CLUB} (beat|hold|stun|crush) {CLUB} (in {CITY}|on {DAY}) ."),
    (1, "!(TENNIS|GOLF|ATHLETICS|CYCLING) - {PER} (wins|takes|retains) {EVENT} (title|crown) ."),
    (1, "!{COUNTRY} (says|denies|rejects|welcomes) {BODY} (report|claim|plan|offer) on {COUNTRY} ."),
    (1, "!{COMPANY} (to buy|to sell|buys|sells) (stake|unit|plant) in {COUNTRY} , (says|say) {PER} ."),
    (1, "!(FEATURE|INTERVIEW|PROFILE) - {NAT} (leader|minister|coach) {SUR} (looks|aims) (ahead|higher) after {CITY} (win|talks|vote) ."),
    # longer, two-clause sentences
    (2, "{PER} , who was (appointed|elected|named) (chairman|president|chief executive) of {ORG} in {YEAR} , said on {DAY} that the (company|group) would (move|shift) (some|most) (jobs|production|operations) from {CITY} to {CITY} (by the end of the year|next year|) ."),
    (2, "(After|Before) (talks|a meeting) with {NAT} (officials|leaders|ministers) in {CITY} , {PER} said {COUNTRY} was (ready|not ready|willing) to (sign|discuss|accept) a (deal|treaty|ceasefire) with {COUNTRY} , but (gave|offered) no (details|timetable) ."),
    (2, "{CLUB} , who (lost {SCORE} to|won {SCORE} against|drew {DRAW} with) {CLUB} last week , are {ORD} in the (league|table|standings) , {NUM} points (behind|ahead of) {CLUB} , who (play|host|visit) {CLUB} on {DAY} ."),
    (1, "{COMPANY} , which (makes|sells) (cars|phones|computers|drugs|beer|shoes) in {NUM} countries , said its (sales|profits) in {COUNTRY} and {COUNTRY} (fell|rose) {PCT} percent in the (first|second|third|fourth) quarter , (while|but) sales in {COUNTRY} were (flat|higher|lower) ."),
    # short sentences
    (2, "{COMPANY} (shares|stock) (rose|fell|slipped|gained) {PCT} percent on {DAY} ."),
    (2, "{PER} (arrived|landed) in {CITY} (late|early) on {DAY} ."),
    (1, "{CLUB} {SCORE} {CLUB} , (half-time|full-time|final score) ."),
    (1, "{NAT} (police|troops|officials) (left|entered|reached) {CITY} on {DAY} ."),
]

# --------------------------------------------------------------------------- #


def _words(block: str) -> list[str]:
    return block.split()


def split_pool(rng: Random, items: list[str]) -> dict[str, list[str]]:
    """Shuffle a copy of *items* (deduplicated, order-stable) and cut it 70/15/15."""
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    pool = list(seen)
    rng.shuffle(pool)
    n = len(pool)
    a, b = round(n * 0.70), round(n * 0.85)
    return {"train": pool[:a], "dev": pool[a:b], "test": pool[b:]}


def build_pools(rng: Random) -> dict[str, dict[str, list[str]]]:
    lists = {
        "first": _words(FIRST_NAMES),
        "sur": _words(SURNAMES),
        "city": _words(CITIES) + CITIES_MULTI,
        "country": _words(COUNTRIES) + COUNTRIES_MULTI,
        "region": _words(REGIONS),
        "company": _words(COMPANIES) + COMPANIES_MULTI,
        "club": _words(CLUBS) + CLUBS_MULTI,
        "body": _words(BODIES) + BODIES_MULTI,
        "nat": _words(NATIONALITIES),
        "lang": _words(LANGUAGES),
        "event": list(EVENTS),
    }
    check_pools(lists)
    return {name: split_pool(rng, items) for name, items in lists.items()}


def check_pools(lists: dict[str, list[str]]) -> None:
    """Fail loudly if a name sits in two lists or in a list and AMBIGUOUS/CORE.

    Languages and nationalities may overlap (both are MISC).
    """
    shared = {w for ws in AMBIGUOUS.values() for w in ws} | {w for ws in CORE.values() for w in ws}
    owner: dict[str, str] = {}
    for name in sorted(lists):
        for item in lists[name]:
            if item in shared:
                raise SystemExit(f"{item!r} is in list {name} and in AMBIGUOUS/CORE")
            prev = owner.get(item)
            if prev is not None and prev != name and {prev, name} != {"nat", "lang"}:
                raise SystemExit(f"{item!r} is in lists {prev} and {name}")
            owner[item] = name


class SentenceMaker:
    """Renders templates for one split, drawing names from that split's pools."""

    SLOT = re.compile(r"\{([A-Z]+)\}|\(([^()]*)\)|(\S+)")

    def __init__(self, rng: Random, pools: dict[str, dict[str, list[str]]], split: str):
        self.rng = rng
        self.pool = {name: p[split] for name, p in pools.items()}

    # -- name draws ------------------------------------------------------- #
    def _draw(self, kind: str) -> str:
        r = self.rng.random()
        p_amb = P_AMBIG.get(kind, 0.0)
        if kind in AMBIGUOUS and r < p_amb:
            return self.rng.choice(AMBIGUOUS[kind])
        if kind in CORE and r < p_amb + P_CORE.get(kind, 0.0):
            return self.rng.choice(CORE[kind])
        return self.rng.choice(self.pool[kind])

    def first(self) -> str:
        return self._draw("first")

    def sur(self) -> str:
        return self._draw("sur")

    def city(self) -> str:
        return self._draw("city")

    def country(self) -> str:
        return self._draw("country")

    def region(self) -> str:
        if self.rng.random() < 0.2:
            return self.rng.choice(AMBIGUOUS["region"])
        return self.rng.choice(self.pool["region"])

    def nat(self) -> str:
        return self._draw("nat")

    def company(self) -> str:
        return self._draw("company")

    def club(self) -> str:
        r = self.rng.random()
        if r < P_AMBIG["club"]:
            return self.rng.choice(AMBIGUOUS["club"])
        if r < 0.50:
            return self.rng.choice(self.pool["club"])
        if r < 0.80:  # a bare city name used as a team, as in news results
            return self.city()
        return f"{self.city()} {self.rng.choice(CLUB_SUFFIX)}"

    def body(self) -> str:
        r = self.rng.random()
        if r < 0.70:
            return self.rng.choice(self.pool["body"])
        if r < 0.85:
            return self.central_bank()
        return self.university()

    def central_bank(self) -> str:
        country = self.country()
        if ("LOC", country) in NEEDS_THE:
            return f"Bank of the {country}"
        return f"Bank of {country}"

    def university(self) -> str:
        if self.rng.random() < 0.6:
            return f"University of {self.city()}"
        return f"{self.city()} University"

    def paper(self) -> str:
        return f"{self.city()} {self.rng.choice(PAPER_SUFFIX)}"

    def event(self) -> str:
        r = self.rng.random()
        if r < 0.55:
            return self.rng.choice(self.pool["event"])
        if r < 0.80:
            return f"{self.nat()} {self.rng.choice(EVENT_NAT_SUFFIX)}"
        return f"{self.city()} {self.rng.choice(EVENT_CITY_SUFFIX)}"

    def lang(self) -> str:
        if self.rng.random() < 0.35:
            return self.rng.choice(CORE["lang"])
        return self.rng.choice(self.pool["lang"])

    # -- O fillers -------------------------------------------------------- #
    def number(self) -> str:
        r = self.rng.random()
        if r < 0.6:
            return str(self.rng.randint(2, 60))
        if r < 0.85:
            return str(self.rng.choice([70, 75, 80, 90, 100, 120, 150, 200, 250, 300, 400, 500, 600, 800]))
        return self.rng.choice(["1,000", "1,500", "2,000", "3,000", "5,000", "10,000", "20,000", "50,000"])

    def pct(self) -> str:
        if self.rng.random() < 0.5:
            return str(self.rng.randint(1, 40))
        return f"{self.rng.randint(0, 9)}.{self.rng.randint(1, 9)}"

    def price(self) -> str:
        whole = self.rng.randint(2, 95)
        return str(whole) if self.rng.random() < 0.5 else f"{whole}.{self.rng.choice([25, 50, 75])}"

    def money(self) -> str:
        if self.rng.random() < 0.6:
            return str(self.rng.randint(2, 90))
        return f"{self.rng.randint(1, 9)}.{self.rng.randint(1, 9)}"

    def score(self) -> str:
        """A winning football score such as 2-1."""
        a = self.rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5])
        return f"{a}-{self.rng.randint(0, a - 1)}"

    def draw(self) -> str:
        a = self.rng.choice([0, 1, 1, 2, 2, 3])
        return f"{a}-{a}"

    def commodity(self) -> str:
        # apple/orange/turkey clash with Apple, Orange (ORG) and Turkey (LOC)
        if self.rng.random() < 0.35:
            return self.rng.choice(["apple", "orange", "turkey"])
        return self.rng.choice(COMMODITIES)

    def tennis_set(self) -> str:
        return self.rng.choice(["6-0", "6-1", "6-2", "6-3", "6-4", "7-5", "7-6", "3-6", "4-6", "2-6"])

    # -- rendering -------------------------------------------------------- #
    def slot(self, name: str) -> tuple[list[str], str]:
        """Return (tokens, entity type or 'O') for slot *name*."""
        rng = self.rng
        if name == "PER":
            return [*self.first().split(), *self.sur().split()], "PER"
        if name == "SUR":
            return self.sur().split(), "PER"
        if name == "CITY":
            return self.city().split(), "LOC"
        if name == "COUNTRY":
            return self.country().split(), "LOC"
        if name == "REGION":
            return self.region().split(), "LOC"
        if name == "LOC":
            r = rng.random()
            what = self.city() if r < 0.5 else self.country() if r < 0.85 else self.region()
            return what.split(), "LOC"
        if name == "COMPANY":
            return self.company().split(), "ORG"
        if name == "CLUB":
            return self.club().split(), "ORG"
        if name == "BODY":
            return self.body().split(), "ORG"
        if name == "PAPER":
            return self.paper().split(), "ORG"
        if name == "ORG":
            r = rng.random()
            what = self.company() if r < 0.5 else self.body() if r < 0.85 else self.paper()
            return what.split(), "ORG"
        if name == "CBANK":
            return self.central_bank().split(), "ORG"
        if name == "UNIV":
            return self.university().split(), "ORG"
        if name == "ANY":  # any entity type, for contexts that do not reveal it
            kind = rng.choices(["PER", "SUR", "COMPANY", "BODY", "COUNTRY", "CITY", "CLUB"],
                               weights=[15, 25, 20, 10, 12, 12, 6])[0]
            return self.slot(kind)
        if name == "MINISTRY":
            return rng.choice(MINISTRIES).split(), "ORG"
        if name == "NAT":
            return self.nat().split(), "MISC"
        if name == "MISCADJ":
            return rng.choice(CORE["misc_adj"]).split(), "MISC"
        if name == "LANG":
            return self.lang().split(), "MISC"
        if name == "EVENT":
            return self.event().split(), "MISC"
        fillers = {
            "DAY": lambda: rng.choice(DAYS),
            "MONTH": lambda: rng.choice(MONTHS),
            "YEAR": lambda: str(rng.randint(1985, 2012)),
            "AGE": lambda: str(rng.randint(19, 88)),
            "NUM": self.number,
            "PCT": self.pct,
            "PRICE": self.price,
            "MONEY": self.money,
            "SCORE": self.score,
            "DRAW": self.draw,
            "SET": self.tennis_set,
            "ORD": lambda: rng.choice(ORDINALS),
            "COMMODITY": self.commodity,
            "LP": lambda: "(",
            "RP": lambda: ")",
        }
        if name not in fillers:
            raise KeyError(f"unknown slot {{{name}}}")
        return fillers[name]().split(), "O"

    def render(self, template: str) -> list[tuple[str, str]]:
        headline = template.startswith("!")
        out: list[tuple[str, str]] = []
        self._render_into(template.lstrip("!"), out)
        if headline:
            return [(tok.upper(), tag) for tok, tag in out]
        for i in range(len(out) - 1):  # agree the indefinite article with the next word
            if out[i][0] in ("a", "an", "A", "An"):
                art = indefinite_article(out[i + 1][0])
                out[i] = (art.capitalize() if out[i][0][0] == "A" else art, out[i][1])
        if out and out[0][0][:1].islower():
            tok, tag = out[0]
            out[0] = (tok[0].upper() + tok[1:], tag)
        return out

    def _render_into(self, text: str, out: list[tuple[str, str]]) -> None:
        for m in self.SLOT.finditer(text):
            slot, alts, word = m.groups()
            if slot is not None:
                tokens, etype = self.slot(slot)
                if needs_the(etype, tokens) and (not out or out[-1][0] not in ("the", "The", "a", "A", "an", "An", "(")):
                    out.append(("the", "O"))
                for i, tok in enumerate(tokens):
                    out.append((tok, "O" if etype == "O" else ("B-" if i == 0 else "I-") + etype))
            elif alts is not None:
                self._render_into(self.rng.choice(alts.split("|")), out)
            else:
                out.append((word, "O"))


def indefinite_article(word: str) -> str:
    """'a' or 'an' before *word* (spelling rule, good enough for these lists)."""
    w = word.lower()
    if w.startswith(("uk", "uni", "u.", "use", "ue", "eu", "one")):
        return "a"
    return "an" if w[:1] in ("a", "e", "i", "o", "u") else "a"


def _check_template_syntax() -> None:
    """Templates may nest slots inside alternatives but not alternatives in alternatives."""
    for _, t in TEMPLATES:
        depth = 0
        for ch in t:
            depth += ch == "("
            depth -= ch == ")"
            if depth not in (0, 1):
                raise SystemExit(f"bad parentheses in template: {t}")
        if depth:
            raise SystemExit(f"unbalanced template: {t}")


def entities(sent: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(type, text) of each IOB2 entity in *sent*."""
    found: list[tuple[str, list[str]]] = []
    for tok, tag in sent:
        if tag.startswith("B-"):
            found.append((tag[2:], [tok]))
        elif tag.startswith("I-"):
            found[-1][1].append(tok)
    return [(etype, " ".join(toks)) for etype, toks in found]


def has_repeated_entity(sent: list[tuple[str, str]]) -> bool:
    names = [text for _, text in entities(sent)]
    return len(names) != len(set(names))


def generate(seed: int) -> dict[str, list[list[tuple[str, str]]]]:
    _check_template_syntax()
    pools = build_pools(Random(seed))
    weights = [w for w, _ in TEMPLATES]
    templates = [t for _, t in TEMPLATES]
    corpus: dict[str, list[list[tuple[str, str]]]] = {}
    for i, split in enumerate(("train", "dev", "test")):
        rng = Random(seed * 1000 + i + 1)
        maker = SentenceMaker(rng, pools, split)
        sentences: list[list[tuple[str, str]]] = []
        total = 0
        while total < TARGET_TOKENS[split]:
            template = rng.choices(templates, weights=weights)[0]
            sent = maker.render(template)
            if not MIN_LEN <= len(sent) <= MAX_LEN or has_repeated_entity(sent):
                continue
            sentences.append(sent)
            total += len(sent)
        corpus[split] = sentences
    return corpus


def write_conll(path: str, sentences: list[list[tuple[str, str]]]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for sent in sentences:
            for tok, tag in sent:
                assert " " not in tok and tok, tok
                f.write(f"{tok} {tag}\n")
            f.write("\n")


def write_glove_subset(glove_path: str, out_path: str, vocab: set[str]) -> tuple[int, int]:
    """Copy the GloVe lines whose word is in *vocab*, verbatim and in file order."""
    kept = 0
    with open(glove_path, encoding="utf-8", newline="") as src, \
            open(out_path, "w", encoding="utf-8", newline="\n") as dst:
        for line in src:
            word = line.split(" ", 1)[0]
            if word in vocab:
                dst.write(line if line.endswith("\n") else line + "\n")
                kept += 1
    return kept, len(vocab)


def main(argv: list[str] | None = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "synthetic"),
                        help="output directory (default: data/synthetic beside this script)")
    parser.add_argument("--glove", default=None,
                        help="full glove.6B.50d.txt; if given, write glove.6B.50d.synthetic.txt")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)

    corpus = generate(args.seed)
    os.makedirs(args.out, exist_ok=True)
    vocab: set[str] = set()
    for split, sentences in corpus.items():
        write_conll(os.path.join(args.out, f"{split}.txt"), sentences)
        n_tok = sum(len(s) for s in sentences)
        vocab.update(tok.lower() for s in sentences for tok, _ in s)
        print(f"{split}: {len(sentences)} sentences, {n_tok} tokens", file=sys.stderr)
    print(f"vocabulary: {len(vocab)} lowercased types", file=sys.stderr)
    if args.glove:
        out_path = os.path.join(args.out, "glove.6B.50d.synthetic.txt")
        kept, total = write_glove_subset(args.glove, out_path, vocab)
        print(f"vectors: kept {kept} of {total} lowercased types ({kept / total:.1%})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

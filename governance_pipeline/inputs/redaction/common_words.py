"""Everyday English words, some of which are also names: `Will`, `Long`, `Mark`, `Rose`.

A customer called Will Long must not turn "I will be long gone" into "I <NAME_1> be <NAME_1>
gone". A name part found here is matched on its own only when capitalised as a name is, or
anywhere next to another part of the same name (see `governance_pipeline.names`).

The list is the 1,000 most common English words of Faker's en_US lorem provider (MIT), words
of three letters or more, plus everyday words that are common names (flowers, months, colours,
trades, places).
"""

from __future__ import annotations

__all__ = ["COMMON_WORDS"]

COMMON_WORDS: frozenset[str] = frozenset(
    """
    ability able about above accept according account across act action activity actually add
    address administration admit adult affect after again against age agency agent ago agree
    agreement ahead air all allow almost alone along already also although always amber american
    among amount analysis and animal another answer any anyone anything appear apply approach
    april area argue arm around arrive art article artist ask assume attack attention attorney
    audience august author authority autumn available avoid away baby back bad bag baker ball
    bank banks bar base basil beat beautiful because become bed before begin behavior behind
    believe bell benefit best better between beyond big bill billion bird bishop bit black blood
    blue board bob body book born both box boy break bring brook brother brown budget build
    building bush business but butler buy call camera campaign can candidate candy capital car
    card care career carry case cash catch cause cell center central century certain certainly
    chair challenge chance change character charge chase check cherry child choice choose church
    citizen city civil claim class clear clearly cliff close coach cold cole collection college
    color commercial common community company compare computer concern condition conference
    congress consider consumer contain continue control cook cost could country couple course
    court cover create crime crystal cultural culture cup current customer cut daisy dale dark
    data daughter dawn day deal dean debate decade decide decision deep defense degree democrat
    democratic describe design despite detail determine develop development difference different
    difficult dinner direction director discover discuss discussion doctor dog door down draw
    dream drew drive drop drug duke during each earl early east easy eat economic economy edge
    education effect effort eight either election else employee end energy enjoy enough enter
    entire environment environmental especially establish even evening event ever every
    everybody everyone everything evidence exactly example executive exist expect experience
    expert explain eye face fact factor faith fall family far fast father fear federal feel
    feeling fern few field fields fight figure fill film final finally financial find fine
    finish fire firm first fish fisher five floor fly focus follow food foot for force ford
    foreign forest forget form former forward four fox frank free friend from front full fund
    future game garden gas gene general generation get girl give glass glen goal gold golden
    good government grace grant gray great green grey ground group grow growth guess gun guy
    hair half hall hand happen happy hard hart have head health hear heart heather heavy help
    her here herself high hill him himself his history hit hold holly home honey hope hospital
    hot hotel hour house how however huge human hundred hunter husband idea identify image
    imagine impact important improve include including increase indeed indicate individual
    industry information inside instead institution interest interesting international interview
    into investment involve iris issue item its itself ivy jack jasmine jewel job join joy june
    just keep key kid kind king kitchen knight know knowledge land lane language large last late
    later laugh law lawyer lay lead leader learn least leave left leg less let letter level life
    light like likely lily line list listen little live local long look lose loss lot love low
    lucky machine magazine main maintain major majority make man manage management manager many
    mark market marriage marsh mason material matter may maybe mean measure media medical meet
    meeting member memory mention message method middle might miles military million mind minute
    miss mission model modern moment money month moon more morning most mother mouth move
    movement movie mrs much music must myself name nation national natural nature near nearly
    necessary need network never new news newspaper next nice night noble none nor north not
    note nothing notice now number occur off offer office officer official often oil old olive
    once one only onto open operation opportunity option order organization other others our out
    outside over own owner page painting paper parent park part participant particular
    particularly partner party pass past pat pattern pay peace pearl penny people per perform
    performance perhaps person personal phone physical pick picture piece place plan plant play
    player point police policy political politics poor poppy popular population porter position
    positive possible power practice prepare present president pressure pretty prevent price
    prince probably process produce product production professional professor program project
    property protect prove provide public pull purpose push put quality question quickly quite
    race radio rain raise range rate rather ray reach read ready real reality realize really
    reason receive recent recently recognize record red reduce reed reflect region relate
    relationship religious remain remember report represent republican require research resource
    respond response responsibility rest result return reveal rice rich right rise risk river
    road rock role room rose ruby rule run rush safe sage same save say scene school science
    scientist score sea season seat second section security see seek seem sell send senior sense
    series serious serve service set seven several shake share sharp she short should shoulder
    show side sign significant silver similar simple simply since sing singer single sister sit
    site situation six size skill skin sky small smile social society soldier some somebody
    someone something sometimes son song soon sort sound source south southern space speak
    special specific speech spend sport spring staff stage stand standard star start state
    statement station stay step sterling still stock stone stop store storm story strategy
    street strong structure student study stuff style subject success successful such suddenly
    sue suffer sugar suggest summer sunny support sure surface system table take talk task tax
    teach teacher team technology television tell ten tend term test than thank that the their
    them themselves then theory there these they thing think third this those though thought
    thousand threat three through throughout throw thus time today together tonight too top
    total tough toward town trade traditional training travel treat treatment tree trial trip
    trouble true truth try turn turner two type under understand unit until upon use usually
    value various very victor view violet visit voice vote wait walk walker wall want war ward
    watch water way wear week weight well west western what whatever when where whether which
    while white who whole whom whose why wide wife will win wind window winter wise wish with
    within without wolf woman wonder wood word work worker world worry would write writer wrong
    yard yeah year yes yet you young your yourself
    """.split()
)

"""Short stopword lists for the language rule's offline heuristic: the most frequent function
words of each language. Words shared by several languages (`a`, `de`, `in`, `la`) stay in each:
the rule compares shares, so a shared word lifts every language that has it."""

from __future__ import annotations

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the a an and or but of to in on at for with from by is are was were be been has have "
        "had it its this that these those not no he she they we you i my your his her their our "
        "will would can could should about as into than then there which who what when".split()
    ),
    "de": frozenset(
        "der die das und oder aber ein eine einen einem nicht ist sind war waren mit von zu im "
        "in den dem des auf für ich sie er wir ihr es mein meine ihre kein keine bei nach aus "
        "auch noch wie wenn dass habe hat haben wird werden kann".split()
    ),
    "es": frozenset(
        "el la los las un una y o pero de del que en por para con no es son fue era se su sus "
        "mi mis al lo le les como más muy ya este esta estos hay tengo tiene".split()
    ),
    "fr": frozenset(
        "le la les un une et ou mais de des du que qui en pour avec ne pas est sont été au aux "
        "ce cette ces je il elle nous vous ils mon ma mes son sa ses sur dans par plus très "
        "j'ai c'est".split()
    ),
    "it": frozenset(
        "il lo la i gli le un una e o ma di del della che in per con non è sono era si suo sua "
        "mio mia al nel nella come più molto questo questa ho ha".split()
    ),
    "nl": frozenset(
        "de het een en of maar van in op te voor met niet is zijn was waren dat die dit deze "
        "ik je jij hij zij wij mijn uw ook nog als bij naar uit heb heeft".split()
    ),
    "pt": frozenset(
        "o a os as um uma e ou mas de do da dos das que em no na por para com não é são foi "
        "era se seu sua meu minha ao mais muito este esta isso tenho tem".split()
    ),
}

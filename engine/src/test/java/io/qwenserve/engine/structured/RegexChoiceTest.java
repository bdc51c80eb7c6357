package io.qwenserve.engine.structured;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Regex and choice formats: random walks produce only whole matches, checked with java.util.regex. */
class RegexChoiceTest {
    @ParameterizedTest
    @ValueSource(strings = {
        "\\d{3}-[a-z]+",
        "(yes|no|maybe)",
        "[^\\n]{1,20}\\.",
        "[α-ω]{2,5}",
        ".{0,10}",
        "^(?:[A-Z][a-z]{0,5} ){1,3}\\(\\d+(\\.\\d\\d)?\\)$",
        "\\w{1,12}@\\w{1,8}\\.(com|org)",
        "\\S\\s\\S",
        "[\\u4e00-\\u9fff]{1,4}!?",
        "(?<word>a|b)*c\\s?",
    })
    void walksMatchTheRegexWhole(String regex) {
        Pattern p = Pattern.compile(regex);
        Random rnd = new Random(regex.hashCode());
        for (int i = 0; i < 30; i++) {
            Walks.Walk w = Walks.walk(ResponseFormat.regex(regex), rnd, 500);
            assertTrue(w.complete(), "unfinished: " + w.text());
            SchemaWalkTest.assertValidUtf8(w.bytes());
            assertTrue(p.matcher(w.text()).matches(), regex + " does not match " + w.text());
        }
    }

    @Test
    void choiceWalksGiveOneOfTheChoices() {
        List<String> choices = List.of("positive", "negative", "neutral", "neg", "不知道", "a \"quoted\" one");
        Random rnd = new Random(1);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < 60; i++) {
            Walks.Walk w = Walks.walk(ResponseFormat.choice(choices), rnd, 100);
            assertTrue(w.complete());
            assertTrue(choices.contains(w.text()), w.text());
            seen.add(w.text());
        }
        assertTrue(seen.size() >= 4, "walks reach most choices: " + seen);
    }

    @Test
    void jsonModeWalksParseAsObjects() {
        Random rnd = new Random(3);
        for (int i = 0; i < 20; i++) {
            Walks.Walk w = Walks.walk(ResponseFormat.jsonObject(), rnd, 3000);
            assertTrue(w.complete(), w.text());
            SchemaWalkTest.assertValidUtf8(w.bytes());
            assertTrue(SchemaWalkTest.parse(w.text()).isObject(), w.text());
        }
    }
}

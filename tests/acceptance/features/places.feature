Feature: Places
  Photo Factory names the place where each photo with GPS was taken: country, region and town.
  Offline by default; a Nominatim server can be used instead.

  Scenario: A photo with GPS gets its place
    Given a photo taken at 46.624, 8.041 in the inbox
    When the librarian and the geocoder have run
    Then the photo's place is "Grindelwald, Bern, Switzerland (CH)" from the "offline" provider

  Scenario: A photo without GPS is never sent to the geocoder
    Given the geocoder asks a Nominatim server on this machine
    And a photo without GPS in the inbox
    When the librarian and the geocoder have run
    Then the photo has no place
    And the Nominatim server received 0 requests

  Scenario: Neighbouring photos cost one Nominatim request
    Given the geocoder asks a Nominatim server on this machine
    And a photo taken at 48.85831, 2.29441 in the inbox
    And a photo taken at 48.85849, 2.29448 in the inbox
    When the librarian and the geocoder have run
    Then every photo's place is "Paris, Île-de-France, France (FR)" from the "nominatim" provider
    And the Nominatim server received 1 request

  Scenario: A photo far from any town still gets its country
    Given a photo taken at 65.06, -16.63 in the inbox
    And a photo taken at 47.21, 106.24 in the inbox
    When the librarian and the geocoder have run
    Then the photos' countries are "Iceland, Mongolia", with no town named
    And each photo records how far the nearest town is and which data named the place

  Scenario: Photos on the coast and at sea say so
    Given a photo taken at 50.819, -0.137 in the inbox
    And a photo taken at 35.0, -40.0 in the inbox
    When the librarian and the geocoder have run
    Then the places are "Brighton (coast)" and "at sea (ocean)"

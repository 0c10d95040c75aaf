Feature: A sweep of shots becomes one clean panorama that viewers recognise
  A phone turned on the spot takes overlapping shots. Photo Factory stitches them as soon as they
  have settled, crops away the black wedges the warp leaves, and writes the Photo Sphere XMP and
  the shots' camera, date and place into the panorama, so photo viewers open it as a panorama.

  Scenario: A sweep of shots becomes one clean panorama that viewers recognise
    Given a hand-held sweep of 3 shots with camera, date and GPS in the inbox folder "DCIM/Camera"
    When the librarian has run and then the stitcher with a settle time of 20 seconds
    Then there is 1 stitched panorama under "Derivatives/panoramas"
    And the panorama has no black wedge in its corners
    And ExifTool reads the panorama as an equirectangular Photo Sphere of 3 photos
    And the panorama carries the first shot's camera, date and GPS, upright

  Scenario: Shots in a folder below a pano folder form a panorama
    Given three overlapping shots taken 90 seconds apart with one camera in the inbox folder "panorama/budapest"
    When the librarian and the stitcher have run
    Then there is 1 stitched panorama under "Derivatives/panoramas"
    And the panorama was found by "folder"

  Scenario: Library files chosen after the fact are stitched
    Given three overlapping shots taken 60 seconds apart with one camera in the inbox folder "DCIM/Camera"
    When the librarian and the stitcher have run
    Then there is no stitched panorama
    When the stitcher is asked to stitch the library folder of that day
    Then there is 1 stitched panorama under "Derivatives/panoramas"
    And the panorama was found by "manual"

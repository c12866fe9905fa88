"""What only one lesson needs: explorers, experiments and figures (lessons 1-9).

The pipeline every user needs (data, model, losses, metrics, training,
evaluation, figures, the command) is the core, one folder up. The modules here
exist to teach one idea each; they use the core and the core never imports
them. In the order the lessons teach them:

- :mod:`~unet_course.lessons.buildings`     -- buildings as connected components, recall by size (lessons 1, 3)
- :mod:`~unet_course.lessons.explorers`     -- the loss and threshold explorers with sliders (lessons 3, 8)
- :mod:`~unet_course.lessons.initializers`  -- signal statistics through a deep conv stack (lesson 4)
- :mod:`~unet_course.lessons.dropout`       -- spatial dropout next to ordinary dropout (lesson 5)
- :mod:`~unet_course.lessons.blocks`        -- shapes and parameter counts block by block (lesson 6)
- :mod:`~unet_course.lessons.unet_figure`   -- the U drawn with its shapes (lesson 6)
- :mod:`~unet_course.lessons.schedules`     -- the learning-rate schedule, drawn (lesson 7)
- :mod:`~unet_course.lessons.interrupt`     -- interrupting a run for real to show it resumes (lesson 7)
- :mod:`~unet_course.lessons.runs`          -- where lessons keep runs and when they reuse them (lessons 2-3, 7-9)
- :mod:`~unet_course.lessons.aggregation`   -- dataset Dice versus the mean of per-batch Dice (lesson 8)
- :mod:`~unet_course.lessons.thresholds`    -- precision / recall / Dice as the threshold moves (lesson 8)
- :mod:`~unet_course.lessons.augmentation`  -- checking and measuring augmentation (lesson 9)
- :mod:`~unet_course.lessons.practice`      -- the ungraded exercises inside every lesson (lessons 1-10)
- :mod:`~unet_course.lessons.practice.exercise`         -- ``check()``, ``hint()``, ``solution()`` (lessons 1-10)
- :mod:`~unet_course.lessons.practice.data_and_losses`  -- the exercises of lessons 1-3
- :mod:`~unet_course.lessons.practice.networks`         -- the exercises of lessons 4-6
- :mod:`~unet_course.lessons.practice.training`         -- the exercises of lessons 7-9
- :mod:`~unet_course.lessons.practice.scenes`           -- the exercises of lesson 10
- :mod:`~unet_course.lessons.practice.quiz`             -- the self-check quiz at the end of lessons 1-10
"""
